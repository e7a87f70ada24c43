package pgp

import (
	"bytes"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSignerErrors(t *testing.T) {
	_, err := NewSigner([]byte("not a key"), nil)
	assert.ErrorContains(t, err, "not an armored OpenPGP key")

	key, err := NewTestKey("T", "t@example.com")
	require.NoError(t, err)
	s, err := NewSigner(key, nil)
	require.NoError(t, err)
	pub, err := s.PublicKey()
	require.NoError(t, err)
	_, err = NewSigner(pub, nil)
	assert.ErrorContains(t, err, "no private key")

	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(key))
	require.NoError(t, err)
	require.NoError(t, ring[0].EncryptPrivateKeys([]byte("pw"), nil))
	var b bytes.Buffer
	w, _ := armor.Encode(&b, openpgp.PrivateKeyType, nil)
	require.NoError(t, ring[0].SerializePrivateWithoutSigning(w, nil))
	w.Close()
	_, err = NewSigner(b.Bytes(), nil)
	assert.ErrorContains(t, err, "passphrase_env")
	_, err = NewSigner(b.Bytes(), []byte("wrong"))
	assert.ErrorContains(t, err, "passphrase")
	s, err = NewSigner(b.Bytes(), []byte("pw"))
	require.NoError(t, err)
	sig, err := s.Clearsign([]byte("Origin: x\n"))
	require.NoError(t, err)
	assert.Contains(t, string(sig), "BEGIN PGP SIGNED MESSAGE")
}
