package checkpoint

import (
	"encoding/json"
	"strings"

	"github.com/pkg/errors"
)

// PutJSON stores v, encoded as JSON, under key in meta, replacing any
// previous value. meta must not be nil.
func PutJSON(meta map[string]string, key string, v any) error {
	if meta == nil {
		return errors.Errorf("checkpoint: put metadata key %q: nil metadata map", key)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return errors.Wrapf(err, "checkpoint: put metadata key %q", key)
	}
	meta[key] = string(b)
	return nil
}

// GetJSON decodes the JSON value stored under key in meta into v, which must
// be a non-nil pointer. Decoding is strict: a missing key, an object field
// that v does not have (e.g. a misspelt or corrupted name, which would
// otherwise be dropped silently and leave a default in its place) or data
// after the value is an error that names the key.
func GetJSON(meta map[string]string, key string, v any) error {
	s, ok := meta[key]
	if !ok {
		return errors.Errorf("checkpoint: metadata key %q not found", key)
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errors.Wrapf(err, "checkpoint: metadata key %q", key)
	}
	if dec.More() {
		return errors.Errorf("checkpoint: metadata key %q: data after the JSON value", key)
	}
	return nil
}
