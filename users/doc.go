// Package users owns replicad's users file: an htpasswd file with bcrypt hashes,
// as `htpasswd -B` writes it, and checks passwords against it.
// It knows nothing of HTTP, WS-Management or CIM.
//
// # File format
//
// One user a line, `name:hash`, where hash is a bcrypt hash ($2y$, $2a$ or $2b$).
// Blank lines and lines starting with # are ignored. Other hash schemes (MD5
// apr1, SHA1, crypt) are refused when the file is read, rather than accepted
// with weaker checks.
package users
