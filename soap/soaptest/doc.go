// Package soaptest owns the helpers for golden-file tests of SOAP messages:
// a canonical, diffable text form of an XML document with volatile values
// blanked, and a line diff.
// It knows nothing of what the messages mean; the packages that build them
// decide which values are volatile.
package soaptest
