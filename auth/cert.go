package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // the certificate thumbprint is SHA-1 by definition
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/golang-jwt/jwt/v5"

	"github.com/secops-go/ms-management-activity/params"
)

var (
	errBadKey = &params.Error{Message: "The Private Key parameter could not be read: paste the PEM of the certificate's unencrypted RSA private key " +
		"(\"-----BEGIN PRIVATE KEY-----\" or \"-----BEGIN RSA PRIVATE KEY-----\"), optionally with the certificate itself."}
	errBadThumbprint = &params.Error{Message: "The Certificate Thumbprint must be the certificate's SHA-1 thumbprint in hexadecimal (40 characters), " +
		`as shown on the "Certificates & secrets" page of the app.`}
	errThumbprintMismatch = &params.Error{Message: "The Certificate Thumbprint does not match the certificate pasted in the Private Key parameter: " +
		"check that both come from the same certificate."}
	errKeyMismatch = &params.Error{Message: "The private key in the Private Key parameter does not belong to the certificate pasted with it."}
)

// certCredential builds the credential of certificate authentication. With
// the certificate in the Private Key parameter, MSAL signs its own assertion;
// with only the thumbprint and the key (what the reference asks for), we sign
// the classic assertion: RS256 with x5t = the SHA-1 thumbprint, base64url.
func certCredential(thumbprint, keyPEM string) (confidential.Credential, error) {
	thumb, err := hex.DecodeString(normalizeThumbprint(thumbprint))
	if err != nil || len(thumb) != sha1.Size {
		return confidential.Credential{}, errBadThumbprint
	}
	certs, key, err := parseKeyPEM(keyPEM)
	if err != nil {
		return confidential.Credential{}, err
	}
	if len(certs) > 0 {
		sum := sha1.Sum(certs[0].Raw) //nolint:gosec // thumbprint
		if !bytes.Equal(sum[:], thumb) {
			return confidential.Credential{}, errThumbprintMismatch
		}
		if pub, ok := certs[0].PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&key.PublicKey) {
			return confidential.Credential{}, errKeyMismatch
		}
		cred, err := confidential.NewCredFromCert(certs, key)
		if err != nil {
			return confidential.Credential{}, errBadKey
		}
		return cred, nil
	}
	x5t := base64.RawURLEncoding.EncodeToString(thumb)
	return confidential.NewCredFromAssertionCallback(func(_ context.Context, o confidential.AssertionRequestOptions) (string, error) {
		return signAssertion(key, x5t, o.ClientID, o.TokenEndpoint, time.Now())
	}), nil
}

// signAssertion signs a client assertion. It uses the wall clock, as MSAL's
// own certificate credential does: the identity provider checks nbf/exp
// against real time, whatever clock the caller's cache logic runs on.
func signAssertion(key *rsa.PrivateKey, x5t, clientID, audience string, now time.Time) (string, error) {
	jti := make([]byte, 16)
	if _, err := rand.Read(jti); err != nil {
		return "", err
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"aud": audience, "iss": clientID, "sub": clientID, "jti": hex.EncodeToString(jti),
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix(),
	})
	tok.Header["x5t"] = x5t
	return tok.SignedString(key)
}

// normalizeThumbprint accepts the portal's form and common copies of it
// ("AB:CD:..", spaces, lower case).
func normalizeThumbprint(t string) string {
	t = strings.NewReplacer(":", "", " ", "", "-", "").Replace(strings.TrimSpace(t))
	return strings.ToLower(t)
}

// parseKeyPEM reads an RSA private key (PKCS#1 or PKCS#8, unencrypted) and
// any certificates from PEM. Engines sometimes flatten newlines to "\n"
// escapes; those are restored first. Errors never quote the input.
func parseKeyPEM(s string) ([]*x509.Certificate, *rsa.PrivateKey, error) {
	s = strings.TrimSpace(s)
	if !strings.Contains(s, "\n") && strings.Contains(s, `\n`) {
		s = strings.ReplaceAll(s, `\n`, "\n")
	}
	var (
		certs []*x509.Certificate
		key   *rsa.PrivateKey
	)
	rest := []byte(s)
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		switch block.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(block.Bytes)
			if err != nil {
				return nil, nil, errBadKey
			}
			certs = append(certs, c)
		case "RSA PRIVATE KEY":
			if _, encrypted := block.Headers["DEK-Info"]; encrypted {
				return nil, nil, errBadKey
			}
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				return nil, nil, errBadKey
			}
			key = k
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
			if err != nil {
				return nil, nil, errBadKey
			}
			rk, ok := k.(*rsa.PrivateKey)
			if !ok {
				return nil, nil, errBadKey
			}
			key = rk
		default:
			// "ENCRYPTED PRIVATE KEY" and others: not usable unattended.
			return nil, nil, errBadKey
		}
	}
	if key == nil {
		return nil, nil, errBadKey
	}
	return certs, key, nil
}
