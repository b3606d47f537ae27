package cimmodel

// LikeMatch exposes the WQL LIKE matcher to the external tests.
var LikeMatch = likeMatch
