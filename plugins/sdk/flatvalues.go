package sdk

import (
	"encoding/json"
	"unicode/utf8"
)

// flatValues decodes b when it is a JSON object of scalars only (strings without escapes,
// numbers, true, false, null) and nothing but white space around it, the common shape of
// attributes, into exactly what a json.Decoder with UseNumber gives (numbers as json.Number
// holding their text, a later duplicate key winning), without its buffers and reflection. ok
// is false for anything else, which the caller decodes with encoding/json.
func flatValues(b []byte) (_ Values, ok bool) {
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return nil, false
	}
	text := string(b) // one allocation, of which every key and value is a part
	v := Values{}
	i = skipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return v, skipSpace(b, i+1) == len(b)
	}
	for {
		key, j, ok := plainString(b, text, i)
		if !ok {
			return nil, false
		}
		i = skipSpace(b, j)
		if i == len(b) || b[i] != ':' {
			return nil, false
		}
		i = skipSpace(b, i+1)
		if i == len(b) {
			return nil, false
		}
		var val any
		switch c := b[i]; {
		case c == '"':
			s, j, ok := plainString(b, text, i)
			if !ok {
				return nil, false
			}
			val, i = s, j
		case c == '-' || '0' <= c && c <= '9':
			j := numberEnd(b, i)
			if j < 0 {
				return nil, false
			}
			val, i = json.Number(text[i:j]), j
		case hasWord(b, i, "true"):
			val, i = true, i+4
		case hasWord(b, i, "false"):
			val, i = false, i+5
		case hasWord(b, i, "null"):
			val, i = nil, i+4
		default:
			return nil, false
		}
		v[key] = val
		i = skipSpace(b, i)
		if i == len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = skipSpace(b, i+1)
		case '}':
			return v, skipSpace(b, i+1) == len(b)
		default:
			return nil, false
		}
	}
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func hasWord(b []byte, i int, w string) bool {
	return len(b)-i >= len(w) && string(b[i:i+len(w)]) == w
}

// plainString reads the JSON string at b[i] when it has no escape and is valid UTF-8, and
// returns it (a part of text, which is b as a string) and the index after it.
func plainString(b []byte, text string, i int) (string, int, bool) {
	if i == len(b) || b[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			if !utf8.Valid(b[i+1 : j]) {
				return "", 0, false
			}
			return text[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20:
			return "", 0, false
		}
	}
	return "", 0, false
}

// numberEnd returns the index after the JSON number at b[i], or -1 when there is none:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(b []byte, i int) int {
	digits := func(i int) int {
		j := i
		for j < len(b) && '0' <= b[j] && b[j] <= '9' {
			j++
		}
		return j
	}
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digits(i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(i + 1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}
