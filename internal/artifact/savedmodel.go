package artifact

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// FindSavedModel returns the directory under root (at any depth, root
// included) that holds saved_model.pb or saved_model.pbtxt. When there are
// several, it keeps those with a path component equal to modelName (the
// container's SAGEMAKER_TFS_DEFAULT_MODEL_NAME; "" keeps all), then, if
// they are all version directories of one model (numeric names under one
// parent, as TensorFlow Serving lays them out), takes the highest
// version. Otherwise it returns an error wrapping ErrNoSavedModel that
// lists the candidates. Symlinked directories are not followed.
func FindSavedModel(root, modelName string) (string, error) {
	return savedModelKind.find(root, modelName)
}

// A modelKind is a model format the Find functions look for: a directory
// is one of its models when it directly holds a file that marks.
type modelKind struct {
	noun, nouns string // "SavedModel", "SavedModels"
	files       string // what marks one, for messages
	err         error  // the sentinel its errors wrap
	marks       func(name string) bool
}

var savedModelKind = modelKind{
	noun: "SavedModel", nouns: "SavedModels",
	files: "saved_model.pb or saved_model.pbtxt",
	err:   ErrNoSavedModel,
	marks: isSavedModelFile,
}

func isSavedModelFile(name string) bool {
	return name == "saved_model.pb" || name == "saved_model.pbtxt"
}

// find returns the directory under root holding a model of kind k, chosen
// as FindSavedModel describes.
func (k modelKind) find(root, modelName string) (string, error) {
	var found []string // relative to root, slash-separated, "." for root
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && k.marks(d.Name()) {
			rel, err := filepath.Rel(root, filepath.Dir(p))
			if err != nil {
				return err
			}
			rel = filepath.ToSlash(rel)
			if !slices.Contains(found, rel) {
				found = append(found, rel)
			}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("artifact: looking for a %s: %w", k.noun, err)
	}
	slices.Sort(found)
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: no %s under %s", k.err, k.files, root)
	case 1:
		return filepath.Join(root, filepath.FromSlash(found[0])), nil
	}
	cands := found
	if modelName != "" {
		var named []string
		for _, c := range found {
			if slices.Contains(strings.Split(c, "/"), modelName) {
				named = append(named, c)
			}
		}
		if len(named) == 0 {
			return "", fmt.Errorf("%w: none of the %s under %s is in a directory named %q (SAGEMAKER_TFS_DEFAULT_MODEL_NAME); candidates: %s",
				k.err, k.nouns, root, modelName, strings.Join(found, ", "))
		}
		cands = named
	}
	if len(cands) == 1 {
		return filepath.Join(root, filepath.FromSlash(cands[0])), nil
	}
	if best, ok := highestVersion(cands); ok {
		return filepath.Join(root, filepath.FromSlash(best)), nil
	}
	hint := "set SAGEMAKER_TFS_DEFAULT_MODEL_NAME to the model's directory name"
	if modelName != "" {
		hint = fmt.Sprintf("several match %q", modelName)
	}
	return "", fmt.Errorf("%w: %d %s under %s (%s): %s", k.err, len(cands), k.nouns, root, hint, strings.Join(cands, ", "))
}

// highestVersion returns the candidate with the greatest numeric name if
// all candidates are numeric directories under one parent.
func highestVersion(cands []string) (string, bool) {
	parent := ""
	best, bestNum := "", ""
	for i, c := range cands {
		dir, base := "", c
		if j := strings.LastIndexByte(c, '/'); j >= 0 {
			dir, base = c[:j], c[j+1:]
		}
		if c == "." || !IsVersion(base) {
			return "", false
		}
		if i == 0 {
			parent = dir
		} else if dir != parent {
			return "", false
		}
		if n := strings.TrimLeft(base, "0"); best == "" || numLess(bestNum, n) {
			best, bestNum = c, n
		}
	}
	return best, true
}

// IsVersion reports whether name is a SavedModel version directory's name:
// a non-empty string of ASCII digits.
func IsVersion(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// numLess compares two digit strings without leading zeros as numbers of
// any length.
func numLess(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}
