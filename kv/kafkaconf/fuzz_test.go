package kafkaconf

import (
	"strings"
	"testing"
)

// FuzzValidate feeds properties text (key=value lines) to Validate and CheckProfileKeys;
// neither may panic, and a failure must name a key.
func FuzzValidate(f *testing.F) {
	f.Add("4.0", "broker", props(brokerProps()))
	f.Add("3.9.0", "controller", props(controllerProps()))
	f.Add("3.8", "broker,controller", "listeners=A://[::1]:1,B://:1\nlistener.security.protocol.map=A:SASL_SSL,B\ncontroller.quorum.voters=x@y")
	f.Fuzz(func(t *testing.T, version, role, text string) {
		m := map[string]string{}
		for _, line := range strings.Split(text, "\n") {
			k, v, _ := strings.Cut(line, "=")
			m[k] = v
		}
		if err := Validate(version, Role(role), m); err != nil {
			if ve, ok := err.(*ValidationError); ok {
				for _, v := range ve.Violations {
					if len(v.Keys) == 0 {
						t.Fatalf("violation names no key: %v", v)
					}
				}
			}
		}
		_ = CheckProfileKeys(version, m)
	})
}

func props(m map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		b.WriteString(k + "=" + strings.ReplaceAll(m[k], "\n", `\n`) + "\n")
	}
	return b.String()
}
