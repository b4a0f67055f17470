package main

import (
	"fmt"
	"strings"
)

// token is a Java or Scala token: an identifier or number, a string literal (text holds its
// value), or one punctuation character. Comments and white space are dropped.
type token struct {
	text string
	str  bool
}

// lex tokenizes Java or Scala source well enough to find declarations and calls.
func lex(src string) ([]token, error) {
	var t []token
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f':
			i++
		case strings.HasPrefix(src[i:], "//"):
			for i < len(src) && src[i] != '\n' {
				i++
			}
		case strings.HasPrefix(src[i:], "/*"):
			end := strings.Index(src[i+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("unterminated comment at %d", i)
			}
			i += end + 4
		case strings.HasPrefix(src[i:], `"""`): // Java text block, Scala multi-line string
			end := strings.Index(src[i+3:], `"""`)
			if end < 0 {
				return nil, fmt.Errorf("unterminated text block at %d", i)
			}
			t = append(t, token{text: src[i+3 : i+3+end], str: true})
			i += end + 6
		case c == '"' || c == '\'':
			var b strings.Builder
			j := i + 1
			for ; j < len(src) && src[j] != c; j++ {
				if src[j] == '\n' {
					if c == '\'' { // a Scala symbol or a stray quote: not a literal
						break
					}
					return nil, fmt.Errorf("newline in string at %d", i)
				}
				if src[j] == '\\' && j+1 < len(src) {
					j++
					switch src[j] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					default:
						b.WriteByte(src[j])
					}
					continue
				}
				b.WriteByte(src[j])
			}
			if j >= len(src) || src[j] != c {
				t = append(t, token{text: string(c)})
				i++
				continue
			}
			t = append(t, token{text: b.String(), str: c == '"'})
			i = j + 1
		case isWord(c):
			j := i
			for j < len(src) && isWord(src[j]) {
				j++
			}
			t = append(t, token{text: src[i:j]})
			i = j
		default:
			t = append(t, token{text: string(c)})
			i++
		}
	}
	return t, nil
}

func isWord(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}
