package console

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"sort"
)

// AssetsDigest is the SHA-256 over every embedded template and static file (names and
// contents, in name order). The browser test writes it next to the screenshots it takes
// (docs/console/ASSETS_SHA256), and TestScreenshotsAreOfTheCurrentAssets fails when the
// assets changed after the screenshots were taken.
func AssetsDigest() string {
	h := sha256.New()
	var names []string
	files := map[string][]byte{}
	for _, fsys := range []fs.FS{templateFS, staticFS} {
		_ = fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(fsys, path)
			if err != nil {
				return err
			}
			names = append(names, path)
			files[path] = b
			return nil
		})
	}
	sort.Strings(names)
	for _, n := range names {
		h.Write([]byte(n))
		h.Write([]byte{0})
		h.Write(files[n])
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
