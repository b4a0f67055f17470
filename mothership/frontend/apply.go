package frontend

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/orbitcp/orbit/mothership/api"
)

// Apply documents look like Kubernetes objects:
//
//	apiVersion: orbit.dev/v1
//	kind: Cluster
//	metadata:
//	  name: demo
//	spec:
//	  product: kafka
//	  cku: 1
//	  region: us-west-2
const (
	applyAPIVersion = "orbit.dev/v1"
	applyKind       = "Cluster"
	maxApplyDocs    = 500
)

type applyDoc struct {
	APIVersion string        `json:"apiVersion"`
	Kind       string        `json:"kind"`
	Metadata   applyMetadata `json:"metadata"`
	Spec       applySpec     `json:"spec"`
}

type applyMetadata struct {
	Name string `json:"name"`
}

type applySpec struct {
	Product string `json:"product"`
	CKU     int    `json:"cku"`
	Region  string `json:"region"`
	SKU     string `json:"sku,omitempty"`
	Cloud   string `json:"cloud,omitempty"`
	Network string `json:"network,omitempty"`
	Kafka   string `json:"kafka,omitempty"`
}

// allowed fields per level, for error messages that name the unknown field's full path.
var applyFields = map[string][]string{
	"":          {"apiVersion", "kind", "metadata", "spec"},
	"metadata.": {"name"},
	"spec.":     {"product", "cku", "region", "sku", "cloud", "network", "kafka"},
}

// parseApply decodes a multi-document YAML (or JSON) file of cluster specs. Every document
// is validated; the first error names the document and field.
func parseApply(data []byte) ([]api.ClusterSpec, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var specs []api.ClusterSpec
	seen := map[string]int{}
	for i := 0; ; i++ {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		prefix := fmt.Sprintf("documents[%d].", i)
		if err != nil {
			return nil, invalid(prefix[:len(prefix)-1], "malformed YAML: %v", err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		if len(specs) >= maxApplyDocs {
			return nil, invalid("documents", "at most %d documents per apply", maxApplyDocs)
		}
		spec, err := parseApplyDoc(prefix, doc)
		if err != nil {
			return nil, err
		}
		if j, dup := seen[spec.Name]; dup {
			return nil, invalid(prefix+"metadata.name", "%q is also the name of documents[%d]", spec.Name, j)
		}
		seen[spec.Name] = i
		specs = append(specs, spec)
	}
	if len(specs) == 0 {
		return nil, invalid("documents", "no cluster documents found")
	}
	return specs, nil
}

func parseApplyDoc(prefix string, doc []byte) (api.ClusterSpec, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return api.ClusterSpec{}, invalid(strings.TrimSuffix(prefix, "."), "malformed YAML: %v", err)
	}
	if err := checkApplyFields(prefix, js); err != nil {
		return api.ClusterSpec{}, err
	}
	var d applyDoc
	if err := decodeJSON(bytes.NewReader(js), prefix, &d); err != nil {
		return api.ClusterSpec{}, err
	}
	if d.APIVersion != applyAPIVersion {
		return api.ClusterSpec{}, invalid(prefix+"apiVersion", "must be %s (got %q)", applyAPIVersion, d.APIVersion)
	}
	if d.Kind != applyKind {
		return api.ClusterSpec{}, invalid(prefix+"kind", "must be %s (got %q)", applyKind, d.Kind)
	}
	spec := api.ClusterSpec{
		Name: d.Metadata.Name, Product: d.Spec.Product, CKU: d.Spec.CKU, Region: d.Spec.Region,
		SKU: d.Spec.SKU, Cloud: d.Spec.Cloud, Network: d.Spec.Network, Kafka: d.Spec.Kafka,
	}
	if err := normalize(prefix+"spec.", &spec); err != nil {
		// The name lives in metadata, not spec.
		var fe *fieldErr
		if errors.As(err, &fe) && fe.field == prefix+"spec.name" {
			fe.field = prefix + "metadata.name"
		}
		return api.ClusterSpec{}, err
	}
	return spec, nil
}

// checkApplyFields reports the first unknown field with its full path.
func checkApplyFields(prefix string, js []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(js, &top); err != nil {
		return invalid(strings.TrimSuffix(prefix, "."), "must be a mapping (apiVersion, kind, metadata, spec)")
	}
	for level, allowed := range applyFields {
		obj := top
		if level != "" {
			raw, ok := top[strings.TrimSuffix(level, ".")]
			if !ok {
				continue
			}
			obj = nil
			if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
				return invalid(prefix+strings.TrimSuffix(level, "."), "must be a mapping")
			}
		}
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !slices.Contains(allowed, k) {
				return unknownField(strings.TrimSuffix(prefix+level, "."), prefix+level, k)
			}
		}
	}
	return nil
}

// stripComments drops YAML comment lines, so a document of only comments counts as empty.
func stripComments(doc []byte) []byte {
	var out []byte
	for _, line := range bytes.Split(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] == '#' {
			continue
		}
		out = append(out, line...)
		out = append(out, '\n')
	}
	return out
}
