package ca

import (
	"crypto"
	"crypto/x509"
)

func marshalPKCS8ForTest(k crypto.Signer) ([]byte, error) { return x509.MarshalPKCS8PrivateKey(k) }
