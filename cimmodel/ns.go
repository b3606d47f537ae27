package cimmodel

import "github.com/replicad/replicad/soap"

// XML namespaces the codec writes, from the soap package.
const (
	nsAddressing     = soap.NSAddressing
	nsWSMan          = soap.NSWSMan
	nsXSI            = soap.NSXSI
	nsCIMCommon      = soap.NSCIMCommon
	addressAnonymous = soap.AddressAnonymous
)
