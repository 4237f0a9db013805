package kbuild

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Snippets returns the code blocks of docs/kbuild.md that a
// "<!-- snippet: NAME -->" line names, by name: the commands the tests run
// or compare with what the builds ran.
func Snippets() (map[string]string, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(root, "docs", "kbuild.md")
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	lines := strings.Split(string(data), "\n")
	for i := 0; i < len(lines); i++ {
		name, ok := strings.CutPrefix(lines[i], "<!-- snippet: ")
		if !ok {
			continue
		}
		name = strings.TrimSuffix(name, " -->")
		if i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "```") {
			return nil, fmt.Errorf("%s:%d: snippet %s: no code block on the next line", path, i+1, name)
		}
		var body []string
		j := i + 2
		for ; j < len(lines) && !strings.HasPrefix(lines[j], "```"); j++ {
			body = append(body, lines[j])
		}
		if j == len(lines) {
			return nil, fmt.Errorf("%s:%d: snippet %s: code block not closed", path, i+1, name)
		}
		out[name] = strings.Join(body, "\n")
		i = j
	}
	return out, nil
}
