// Package pgp signs with OpenPGP in Go: no gpg binary, no agent, no keyring
// on disk. Only gopythongo-publish links it (its algorithm tables cost every
// start of a program that does): the stores take it as store.Env.NewSigner.
package pgp

import (
	"bytes"
	"crypto"
	"fmt"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Signer signs Release files with an OpenPGP key.
type Signer struct {
	entity *openpgp.Entity
}

// NewSigner reads an armored private key and unlocks it with the passphrase.
func NewSigner(armored []byte, passphrase []byte) (*Signer, error) {
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armored))
	if err != nil {
		return nil, fmt.Errorf("the signing key is not an armored OpenPGP key: %w", err)
	}
	for _, e := range ring {
		if e.PrivateKey == nil {
			continue
		}
		if e.PrivateKey.Encrypted || anyEncrypted(e) {
			if len(passphrase) == 0 {
				return nil, fmt.Errorf("the signing key is protected by a passphrase: set passphrase_env")
			}
			if err := e.DecryptPrivateKeys(passphrase); err != nil {
				return nil, fmt.Errorf("unlock the signing key: %w (is the passphrase right?)", err)
			}
		}
		if _, ok := e.SigningKey(time.Now()); !ok {
			return nil, fmt.Errorf("the key %X cannot sign (expired, revoked, or no signing subkey)", e.PrimaryKey.Fingerprint)
		}
		return &Signer{entity: e}, nil
	}
	return nil, fmt.Errorf("the signing key file holds no private key")
}

func anyEncrypted(e *openpgp.Entity) bool {
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil && s.PrivateKey.Encrypted {
			return true
		}
	}
	return false
}

// signConfig is how every signature is made: SHA-512.
func signConfig() *packet.Config { return &packet.Config{DefaultHash: crypto.SHA512} }

// Clearsign makes an InRelease file.
func (s *Signer) Clearsign(data []byte) ([]byte, error) {
	key, ok := s.entity.SigningKey(time.Now())
	if !ok {
		return nil, fmt.Errorf("the key cannot sign")
	}
	var b bytes.Buffer
	w, err := clearsign.Encode(&b, key.PrivateKey, signConfig())
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Detach makes a Release.gpg file.
func (s *Signer) Detach(data []byte) ([]byte, error) {
	var b bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&b, s.entity, bytes.NewReader(data), signConfig()); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// PublicKey is the armored public key, for clients' signed-by.
func (s *Signer) PublicKey() ([]byte, error) {
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := s.entity.Serialize(w); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// NewTestKey makes a fresh signing key, armored, for tests and demos.
func NewTestKey(name, email string) ([]byte, error) {
	e, err := openpgp.NewEntity(name, "", email, &packet.Config{RSABits: 3072, DefaultHash: crypto.SHA512})
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	if err != nil {
		return nil, err
	}
	if err := e.SerializePrivate(w, nil); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
