// Package users owns replicad's users file: an htpasswd file with bcrypt
// hashes, as `htpasswd -B` writes it, plus a companion file with each user's
// role and NT hash, and checks passwords against them.
// It knows nothing of HTTP, WS-Management, NTLM messages or CIM.
//
// # File format
//
// One user a line, `name:hash`, where hash is a bcrypt hash ($2y$, $2a$ or $2b$).
// Blank lines and lines starting with # are ignored. Other hash schemes (MD5
// apr1, SHA1, crypt) are refused when the file is read, rather than accepted
// with weaker checks. The file stays readable by Apache's htpasswd.
//
// # Companion file
//
// PATH.meta holds `name:role:nthash` lines: the role (admin or reader) and
// the NT hash (hexadecimal MD4 of the UTF-16LE password) that NTLM needs. It
// is optional: a user without a line is an admin who can log on with Basic
// only. The NT hash is password-equivalent for NTLM (whoever reads it can
// log on as that user without knowing the password), so the file is written
// with mode 0600 and must be protected like the password itself.
package users
