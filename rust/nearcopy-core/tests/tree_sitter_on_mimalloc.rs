//! tree-sitter routed to mimalloc, as the Python module routes it when it is imported: parsers on
//! several threads, trees freed on threads other than the ones that parsed them, strings the
//! runtime allocates (`to_sexp`) freed by the binding. A test binary of its own, so that the
//! routing happens before any tree-sitter object exists in the process.

use nearcopy_core::code::{route_tree_sitter_to_mimalloc, CodeNormalizer, CodeOptions, Language};

const C: &str = "#include <stdio.h>\nstatic int count(const char *s, char c) {\n  int n = 0;\n  while (*s) { if (*s++ == c) n++; }\n  return n;\n}\nint main(int argc, char **argv) { printf(\"%d\\n\", count(argv[0], 'a') + argc); return 0; }\n";

fn sexp(source: &str) -> String {
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&Language::C.grammar()).unwrap();
    parser.parse(source, None).unwrap().root_node().to_sexp()
}

#[test]
fn parses_on_mimalloc_agree_across_threads_and_free_anywhere() {
    // SAFETY: the first thing this process does with tree-sitter.
    unsafe { route_tree_sitter_to_mimalloc() };
    let sources: Vec<String> =
        (0..40).map(|i| format!("{C}int v{i} = {i};\n{}", &C[..C.len() * i / 40])).collect();
    let want: Vec<String> = sources.iter().map(|s| sexp(s)).collect();
    let (send, receive) = std::sync::mpsc::channel::<tree_sitter::Tree>();
    let dropper = std::thread::spawn(move || receive.into_iter().map(drop).count());
    std::thread::scope(|scope| {
        for worker in 0..4 {
            let (sources, want, send) = (&sources, &want, send.clone());
            scope.spawn(move || {
                let mut parser = tree_sitter::Parser::new();
                parser.set_language(&Language::C.grammar()).unwrap();
                let mut normalizer = CodeNormalizer::new();
                for (round, (source, want)) in sources.iter().zip(want).enumerate().cycle().take(400) {
                    let tree = parser.parse(source, None).unwrap();
                    assert_eq!(&tree.root_node().to_sexp(), want, "worker {worker}, round {round}");
                    let tokens = normalizer.normalize(source, &CodeOptions::new(Language::C)).unwrap();
                    assert!(tokens.len() > 40);
                    send.send(tree).unwrap();
                }
            });
        }
    });
    drop(send);
    assert_eq!(dropper.join().unwrap(), 1600);
    // A second call changes nothing, so a caller may make it more than once.
    // SAFETY: the allocator is already mimalloc.
    unsafe { route_tree_sitter_to_mimalloc() };
    assert_eq!(sexp(&sources[3]), want[3]);
}
