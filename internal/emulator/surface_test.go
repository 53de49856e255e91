package emulator

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestPackageDocListsSurface keeps the package documentation's list of the
// surface true: every exported function and method of the package (tests
// aside) is named there.
func TestPackageDocListsSurface(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var doc string
	var names []string
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if f.Doc != nil {
			doc += f.Doc.Text()
		}
		for _, d := range f.Decls {
			if fn, ok := d.(*ast.FuncDecl); ok && fn.Name.IsExported() {
				names = append(names, fn.Name.Name)
			}
		}
	}
	if len(names) < 20 {
		t.Fatalf("found only %d exported functions; is the parse wrong?", len(names))
	}
	for _, n := range names {
		if n == "String" || n == "Error" { // methods of interfaces, not the package's own API
			continue
		}
		if !regexp.MustCompile(`\b` + n + `\b`).MatchString(doc) {
			t.Errorf("%s is exported but the package documentation's surface list does not name it", n)
		}
	}
}
