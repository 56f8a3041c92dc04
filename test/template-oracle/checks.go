package main

// Test-only checks for Sprig functions whose output is random (bcrypt salts, AES IVs): the
// TypeScript engine renders, and these verify in Go what it rendered. Their names start with
// "oracle" so they never meet a Sprig function; generated templates never call them.

import (
	"text/template"

	"golang.org/x/crypto/bcrypt"
)

func addChecks(funcs template.FuncMap) {
	funcs["oracleBcryptCheck"] = func(hash, password string) bool {
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	funcs["oracleBcryptCost"] = func(hash string) (int, error) {
		return bcrypt.Cost([]byte(hash))
	}
}
