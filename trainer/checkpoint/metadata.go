package checkpoint

import (
	"encoding/json"

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
// be a non-nil pointer. A missing key is an error that names it.
func GetJSON(meta map[string]string, key string, v any) error {
	s, ok := meta[key]
	if !ok {
		return errors.Errorf("checkpoint: metadata key %q not found", key)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return errors.Wrapf(err, "checkpoint: metadata key %q", key)
	}
	return nil
}
