// Package iscsi is replicad's iSCSI data plane: it serves volumes to
// initiators through Debian's tgt. It starts and supervises its own tgtd
// (control socket and log under the data folder, portal on Options.Listen),
// drives it only through tgtadm (exec with a context and a timeout, arguments
// never through a shell, every name validated first), and keeps the targets,
// their LUNs, their initiator ACLs and the known initiator identities
// (hardware IDs) in the store, which is the source of truth: after tgtd or
// replicad restarts, a reconcile compares `tgtadm --op show` with the store
// and fixes the difference.
//
// It knows tgtd, the store and volumes; nothing of CIM or SOAP (the provider
// maps its types onto MSISCSITARGET_SCSIProtocolController and the classes
// around it).
package iscsi
