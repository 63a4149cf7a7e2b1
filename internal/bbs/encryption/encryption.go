// Package encryption encrypts the BBS's sensitive columns the way the
// reference stores them, so that each BBS reads the other's rows:
//
//   - a key is AES-256 with SHA-256(passphrase) as key material, known by a
//     label of 1 to 127 bytes; one key is active (used to encrypt), all
//     configured keys decrypt;
//   - a value is sealed with AES-GCM under a fresh 12-byte nonce and stored
//     as ASCII "02" followed by standard padded base64 of
//     len(label) ‖ label ‖ nonce ‖ ciphertext+tag;
//   - a protobuf model is prefixed with the 2-byte envelope 0x02 0x00 before
//     sealing; JSON columns are sealed as they are.
package encryption

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"

	"github.com/diego-go/diego/internal/models"
	"google.golang.org/protobuf/proto"
)

// NonceSize is the GCM nonce length.
const NonceSize = 12

// Config is the reference's encryption block of the BBS config.
type Config struct {
	ActiveKeyLabel string            `json:"active_key_label"`
	EncryptionKeys map[string]string `json:"encryption_keys"`
}

// Key is one labelled AES-256-GCM key.
type Key struct {
	label string
	aead  cipher.AEAD
}

// Label returns the key's label.
func (k *Key) Label() string { return k.label }

// NewKey derives a key from its passphrase.
func NewKey(label, passphrase string) (*Key, error) {
	if label == "" {
		return nil, errors.New("encryption: a key label is required")
	}
	if len(label) > 127 {
		return nil, fmt.Errorf("encryption: key label %q is longer than 127 bytes", label)
	}
	sum := sha256.Sum256([]byte(passphrase))
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Key{label: label, aead: aead}, nil
}

// Cryptor seals with the active key and opens with any configured key.
type Cryptor struct {
	active *Key
	keys   map[string]*Key
}

// New builds a Cryptor from the config; the active key must be one of the
// configured keys.
func New(cfg Config) (*Cryptor, error) {
	if len(cfg.EncryptionKeys) == 0 {
		return nil, errors.New("encryption: at least one key is required in encryption_keys")
	}
	if cfg.ActiveKeyLabel == "" {
		return nil, errors.New("encryption: active_key_label is required")
	}
	c := &Cryptor{keys: map[string]*Key{}}
	labels := make([]string, 0, len(cfg.EncryptionKeys))
	for label := range cfg.EncryptionKeys {
		labels = append(labels, label)
	}
	sort.Strings(labels)
	for _, label := range labels {
		k, err := NewKey(label, cfg.EncryptionKeys[label])
		if err != nil {
			return nil, err
		}
		c.keys[label] = k
	}
	active, ok := c.keys[cfg.ActiveKeyLabel]
	if !ok {
		return nil, fmt.Errorf("encryption: active key %q is not among encryption_keys", cfg.ActiveKeyLabel)
	}
	c.active = active
	return c, nil
}

// ActiveLabel returns the label new values are sealed with.
func (c *Cryptor) ActiveLabel() string { return c.active.label }

// HasKey reports whether a key with this label is configured.
func (c *Cryptor) HasKey(label string) bool {
	_, ok := c.keys[label]
	return ok
}

// Encrypt seals plaintext with the active key and returns the stored form.
func (c *Cryptor) Encrypt(plaintext []byte) ([]byte, error) {
	k := c.active
	raw := make([]byte, 0, 1+len(k.label)+NonceSize+len(plaintext)+k.aead.Overhead())
	raw = append(raw, byte(len(k.label)))
	raw = append(raw, k.label...)
	nonce := make([]byte, NonceSize)
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("encryption: nonce: %w", err)
	}
	raw = append(raw, nonce...)
	raw = k.aead.Seal(raw, nonce, plaintext, nil)
	out := make([]byte, 2+base64.StdEncoding.EncodedLen(len(raw)))
	out[0], out[1] = '0', '2'
	base64.StdEncoding.Encode(out[2:], raw)
	return out, nil
}

// Decrypt opens a stored value sealed under any configured key.
func (c *Cryptor) Decrypt(stored []byte) ([]byte, error) {
	if len(stored) < 2 || stored[0] != '0' || stored[1] != '2' {
		prefix := stored
		if len(prefix) > 2 {
			prefix = prefix[:2]
		}
		return nil, fmt.Errorf("encryption: unknown encoding %q", prefix)
	}
	raw := make([]byte, base64.StdEncoding.DecodedLen(len(stored)-2))
	n, err := base64.StdEncoding.Decode(raw, stored[2:])
	if err != nil {
		return nil, fmt.Errorf("encryption: %w", err)
	}
	raw = raw[:n]
	if len(raw) < 1 {
		return nil, errors.New("encryption: empty value")
	}
	labelLen := int(raw[0])
	if len(raw) < 1+labelLen+NonceSize {
		return nil, errors.New("encryption: value too short")
	}
	label := string(raw[1 : 1+labelLen])
	k, ok := c.keys[label]
	if !ok {
		return nil, fmt.Errorf("encryption: no key with label %q", label)
	}
	nonce := raw[1+labelLen : 1+labelLen+NonceSize]
	plain, err := k.aead.Open(nil, nonce, raw[1+labelLen+NonceSize:], nil)
	if err != nil {
		return nil, fmt.Errorf("encryption: %w", err)
	}
	return plain, nil
}

// KeyLabelOf returns the label a stored value was sealed with.
func KeyLabelOf(stored []byte) (string, error) {
	if len(stored) < 2 || stored[0] != '0' || stored[1] != '2' {
		return "", errors.New("encryption: unknown encoding")
	}
	raw, err := base64.StdEncoding.DecodeString(string(stored[2:]))
	if err != nil || len(raw) < 1 || len(raw) < 1+int(raw[0]) {
		return "", errors.New("encryption: malformed value")
	}
	return string(raw[1 : 1+int(raw[0])]), nil
}

// envelope is the reference's 2-byte header of a serialized model: format
// PROTO (2), version 0.
var envelope = [2]byte{2, 0}

// MarshalModel serializes m (with models.Marshal), prefixes the envelope and
// seals it.
func (c *Cryptor) MarshalModel(m proto.Message) ([]byte, error) {
	b, err := models.Marshal(m)
	if err != nil {
		return nil, err
	}
	return c.Encrypt(append(envelope[:], b...))
}

// UnmarshalModel opens a stored model into m.
func (c *Cryptor) UnmarshalModel(stored []byte, m proto.Message) error {
	plain, err := c.Decrypt(stored)
	if err != nil {
		return err
	}
	if len(plain) < len(envelope) {
		return errors.New("encryption: model without envelope")
	}
	return models.Unmarshal(plain[len(envelope):], m)
}
