package encryption_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/diego-go/diego/internal/bbs/encryption"
	"github.com/diego-go/diego/internal/models"
)

func cryptor(t *testing.T, active string, keys map[string]string) *encryption.Cryptor {
	t.Helper()
	c, err := encryption.New(encryption.Config{ActiveKeyLabel: active, EncryptionKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// referenceSeal builds a stored value by the reference's recipe, written out
// step by step, to prove that our Decrypt reads what the reference writes.
func referenceSeal(t *testing.T, label, passphrase string, nonce, plaintext []byte) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(passphrase))
	block, _ := aes.NewCipher(sum[:])
	gcm, _ := cipher.NewGCM(block)
	raw := append([]byte{byte(len(label))}, label...)
	raw = append(raw, nonce...)
	raw = append(raw, gcm.Seal(nil, nonce, plaintext, nil)...)
	return append([]byte("02"), base64.StdEncoding.EncodeToString(raw)...)
}

func TestReadsTheReferenceForm(t *testing.T) {
	c := cryptor(t, "k1", map[string]string{"k1": "correct horse", "k0": "old"})
	nonce := bytes.Repeat([]byte{7}, 12)
	stored := referenceSeal(t, "k0", "old", nonce, []byte(`{"cf-router":[]}`))
	got, err := c.Decrypt(stored)
	if err != nil || string(got) != `{"cf-router":[]}` {
		t.Fatalf("decrypt %q, %v", got, err)
	}
	// Appendix A: "02" + base64(02 6b 31 ‖ nonce ‖ ciphertext ‖ tag) for label "k1".
	ours, err := c.Encrypt([]byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.StdEncoding.DecodeString(string(ours[2:]))
	if err != nil || string(ours[:2]) != "02" || !bytes.HasPrefix(raw, []byte{0x02, 'k', '1'}) || len(raw) != 3+12+1+16 {
		t.Fatalf("stored form %q (%x), %v", ours, raw, err)
	}
	if label, err := encryption.KeyLabelOf(ours); err != nil || label != "k1" {
		t.Fatalf("label %q, %v", label, err)
	}
}

func TestRoundTripAndRotation(t *testing.T) {
	old := cryptor(t, "old", map[string]string{"old": "a"})
	sealed, err := old.Encrypt([]byte("secret"))
	if err != nil {
		t.Fatal(err)
	}
	both := cryptor(t, "new", map[string]string{"old": "a", "new": "b"})
	if got, err := both.Decrypt(sealed); err != nil || string(got) != "secret" {
		t.Fatalf("a rotated cryptor could not read the old key: %q %v", got, err)
	}
	resealed, _ := both.Encrypt([]byte("secret"))
	if l, _ := encryption.KeyLabelOf(resealed); l != "new" {
		t.Fatalf("resealed with %q", l)
	}
	newOnly := cryptor(t, "new", map[string]string{"new": "b"})
	if _, err := newOnly.Decrypt(sealed); err == nil || !strings.Contains(err.Error(), `"old"`) {
		t.Fatalf("decrypting without the key: %v", err)
	}
	wrong := cryptor(t, "old", map[string]string{"old": "not a"})
	if _, err := wrong.Decrypt(sealed); err == nil {
		t.Fatal("a wrong passphrase decrypted")
	}
	for _, bad := range []string{"", "0", "01abc", "02!!!", "02", "02AA=="} {
		if _, err := both.Decrypt([]byte(bad)); err == nil {
			t.Errorf("decrypted %q", bad)
		}
	}
}

func TestModels(t *testing.T) {
	c := cryptor(t, "k", map[string]string{"k": "p"})
	in := &models.ActualLRPNetInfo{Address: "10.0.0.1", Ports: []*models.PortMapping{{ContainerPort: 8080, HostPort: 61000}}}
	stored, err := c.MarshalModel(in)
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := c.Decrypt(stored)
	if plain[0] != 2 || plain[1] != 0 {
		t.Fatalf("envelope %x", plain[:2])
	}
	var out models.ActualLRPNetInfo
	if err := c.UnmarshalModel(stored, &out); err != nil || out.Address != "10.0.0.1" || out.Ports[0].HostPort != 61000 {
		t.Fatalf("unmarshalled %v, %v", &out, err)
	}
}

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]encryption.Config{
		"no keys":            {ActiveKeyLabel: "a"},
		"no active":          {EncryptionKeys: map[string]string{"a": "x"}},
		"active not present": {ActiveKeyLabel: "b", EncryptionKeys: map[string]string{"a": "x"}},
		"empty label":        {ActiveKeyLabel: "", EncryptionKeys: map[string]string{"": "x"}},
		"label too long":     {ActiveKeyLabel: strings.Repeat("l", 128), EncryptionKeys: map[string]string{strings.Repeat("l", 128): "x"}},
	} {
		if _, err := encryption.New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
