package soap

import "github.com/beevik/etree"

// ParseXML reads one XML document (UTF-8 or UTF-16, as [Parse] detects it)
// with the same strict reader and limits as Parse: no DTD, entity
// declaration or processing instruction other than the XML declaration, at
// most [MaxDepth] levels, [MaxElements] elements and [MaxAttributes]
// attributes on one element, no unbound prefix or duplicate attribute. It
// checks nothing of SOAP: the CIM-XML front end (package cimxml) reads its
// requests with it. Errors are [*ParseError].
func ParseXML(data []byte) (*etree.Document, error) {
	text, _, err := DecodeText(data)
	if err != nil {
		return nil, err
	}
	return buildTree(text)
}
