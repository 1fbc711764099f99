package lint

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// eachZlintMethod parses zlint's rfc and community lint sources and calls
// visit for every method with one receiver whose receiver type is a
// certificate lint pkid runs, with that lint's name and the method's file.
func eachZlintMethod(t *testing.T, visit func(name string, f *ast.File, fn *ast.FuncDecl)) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/zmap/zlint/v3").Output()
	if err != nil {
		t.Fatalf("locate zlint's source: %v", err)
	}
	root := strings.TrimSpace(string(out))
	// Receiver type (package/type) of each lint pkid runs.
	selected := map[string]string{} // "rfc.IANEmptyName" → lint name
	for _, l := range zlints().certLints {
		typ := reflect.TypeOf(l.Lint())
		if typ.Kind() == reflect.Pointer {
			typ = typ.Elem()
		}
		selected[filepath.Base(typ.PkgPath())+"."+typ.Name()] = l.Name
	}
	for _, dir := range []string{"rfc", "community"} {
		files, err := filepath.Glob(filepath.Join(root, "lints", dir, "*.go"))
		if err != nil || len(files) == 0 {
			t.Fatalf("zlint lints in %s: %v", dir, err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			src, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			f, err := parser.ParseFile(token.NewFileSet(), path, src, 0)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Recv == nil || len(fn.Recv.List) != 1 {
					continue
				}
				recv := fn.Recv.List[0].Type
				if st, ok := recv.(*ast.StarExpr); ok {
					recv = st.X
				}
				id, ok := recv.(*ast.Ident)
				if !ok {
					continue
				}
				if name, ok := selected[dir+"."+id.Name]; ok {
					visit(name, f, fn)
				}
			}
		}
	}
}
