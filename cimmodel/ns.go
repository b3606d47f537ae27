package cimmodel

// XML namespaces the codec writes. They equal the soap package's constants of
// the same meaning; cimmodel keeps its own copies so that it compiles while
// soap changes (see selectors.go for the one place that imports soap).
const (
	nsAddressing     = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
	nsWSMan          = "http://schemas.dmtf.org/wbem/wsman/1/wsman.xsd"
	nsCIMBinding     = "http://schemas.dmtf.org/wbem/wsman/1/cimbinding.xsd"
	nsXSI            = "http://www.w3.org/2001/XMLSchema-instance"
	nsCIMCommon      = "http://schemas.dmtf.org/wbem/wscim/1/common"
	addressAnonymous = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
)
