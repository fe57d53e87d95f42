package checkpoint

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
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
// otherwise be dropped silently and leave a default in its place), a field
// v has that the JSON lacks (one that v would write: fields left out when
// empty may be absent) or data after the value is an error that names the
// key and the field.
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
	var raw, canon any
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return errors.Wrapf(err, "checkpoint: metadata key %q", key)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return errors.Wrapf(err, "checkpoint: metadata key %q", key)
	}
	if err := json.Unmarshal(b, &canon); err != nil {
		return errors.Wrapf(err, "checkpoint: metadata key %q", key)
	}
	if missing := missingField(raw, canon, ""); missing != "" {
		return errors.Errorf("checkpoint: metadata key %q: field %s is missing", key, missing)
	}
	return nil
}

// missingField returns the path of the first object field that canon has
// and raw lacks, or "".
func missingField(raw, canon any, path string) string {
	switch c := canon.(type) {
	case map[string]any:
		r, ok := raw.(map[string]any)
		if !ok {
			return ""
		}
		keys := make([]string, 0, len(c))
		for k := range c {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			rv, ok := r[k]
			if !ok {
				return path + "/" + k
			}
			if m := missingField(rv, c[k], path+"/"+k); m != "" {
				return m
			}
		}
	case []any:
		r, ok := raw.([]any)
		if !ok {
			return ""
		}
		for i := 0; i < min(len(r), len(c)); i++ {
			if m := missingField(r[i], c[i], fmt.Sprintf("%s/%d", path, i)); m != "" {
				return m
			}
		}
	}
	return ""
}

// RequireKeys reports metadata that lacks one of keys or holds a key not
// among them: a reader that knows its format's keys refuses a file with
// fewer or more.
func RequireKeys(meta map[string]string, keys ...string) error {
	for _, k := range keys {
		if _, ok := meta[k]; !ok {
			return errors.Errorf("checkpoint: metadata key %q not found", k)
		}
	}
	for k := range meta {
		if !slices.Contains(keys, k) {
			return errors.Errorf("checkpoint: unknown metadata key %q (known: %s)", k, strings.Join(keys, ", "))
		}
	}
	return nil
}
