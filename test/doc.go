// Package test holds hijack's end-to-end tests: they build hijackd and
// hijack-exec, start a real hijackd on a temporary socket, run real programs
// under it, and check what the programs print and what hijackd exports.
package test
