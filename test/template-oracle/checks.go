package main

// Test-only checks for Sprig functions whose output is random (bcrypt salts, AES IVs, generated
// keys and certificates): the TypeScript engine renders, and these verify in Go what it rendered,
// with the parsers upstream's users would use. Their names start with "oracle" so they never meet
// a Sprig function; generated templates never call them.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"text/template"

	"golang.org/x/crypto/bcrypt"
)

func parseCert(text string) (*x509.Certificate, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("no CERTIFICATE block")
	}
	return x509.ParseCertificate(block.Bytes)
}

// parseKey reads a private key PEM as Sprig's parsePrivateKeyPEM does (by block type).
func parseKey(text string) (crypto.PrivateKey, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		return x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		return x509.ParseECPrivateKey(block.Bytes)
	case "PRIVATE KEY":
		return x509.ParsePKCS8PrivateKey(block.Bytes)
	}
	return nil, fmt.Errorf("unexpected block %s", block.Type)
}

func describeKey(k any) string {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PrivateKey:
		return "ECDSA-" + k.Curve.Params().Name
	case ed25519.PrivateKey:
		return "Ed25519"
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA-" + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", k)
}

func addChecks(funcs template.FuncMap) {
	funcs["oracleBcryptCheck"] = func(hash, password string) bool {
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil
	}
	funcs["oracleBcryptCost"] = func(hash string) (int, error) {
		return bcrypt.Cost([]byte(hash))
	}
	funcs["oracleKey"] = func(text string) (string, error) {
		k, err := parseKey(text)
		if err != nil {
			return "", err
		}
		return describeKey(k), nil
	}
	// oracleCert summarises what Sprig's certificate profile decides.
	funcs["oracleCert"] = func(text string) (string, error) {
		c, err := parseCert(text)
		if err != nil {
			return "", err
		}
		var ips []string
		for _, ip := range c.IPAddresses {
			ips = append(ips, ip.String())
		}
		eku := fmt.Sprint(c.ExtKeyUsage)
		days := int(c.NotAfter.Sub(c.NotBefore).Hours() / 24)
		return fmt.Sprintf("cn=%s issuer=%s ca=%t ku=%d eku=%s dns=%s ips=%s days=%d key=%s sig=%s ski=%t aki=%t",
			c.Subject.CommonName, c.Issuer.CommonName, c.IsCA, c.KeyUsage, eku, strings.Join(c.DNSNames, ","), strings.Join(ips, ","),
			days, describeKey(c.PublicKey), c.SignatureAlgorithm, len(c.SubjectKeyId) > 0, len(c.AuthorityKeyId) > 0), nil
	}
	// oracleVerify: the certificate chains to the CA for TLS server use ("ok" or Go's reason).
	funcs["oracleVerify"] = func(leaf, ca string) string {
		l, err := parseCert(leaf)
		if err != nil {
			return err.Error()
		}
		r, err := parseCert(ca)
		if err != nil {
			return err.Error()
		}
		roots := x509.NewCertPool()
		roots.AddCert(r)
		if _, err := l.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: l.NotBefore.Add(1)}); err != nil {
			return err.Error()
		}
		return "ok"
	}
	// oracleKeyMatches: the key is the certificate's.
	funcs["oracleKeyMatches"] = func(cert, key string) (bool, error) {
		c, err := parseCert(cert)
		if err != nil {
			return false, err
		}
		k, err := parseKey(key)
		if err != nil {
			return false, err
		}
		pub := k.(interface{ Public() crypto.PublicKey }).Public()
		return pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(c.PublicKey), nil
	}
}
