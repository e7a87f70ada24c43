package pack

import v1 "github.com/google/go-containerregistry/pkg/v1"

// WriteAtomic is writeAtomic, for the tests of package pack_test.
var WriteAtomic = writeAtomic

// ImageNodes is imageNodes as path -> "file", "dir" or "-> target".
func ImageNodes(img v1.Image) (map[string]string, error) {
	nodes, err := imageNodes(img, "")
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for p, n := range nodes {
		switch {
		case n.link != "":
			out[p] = "-> " + n.link
		case n.file:
			out[p] = "file"
		default:
			out[p] = "dir"
		}
	}
	return out, nil
}
