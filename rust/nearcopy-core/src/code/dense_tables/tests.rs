//! The dense copies answer every table lookup as the crates' grammars do, and parse the same trees.

use super::RawLanguage;
use crate::code::Language;

/// `ts_language_lookup` of tree-sitter's `language.h`, transcribed: the reference for a lookup.
fn lookup(language: &RawLanguage, state: u32, symbol: u16) -> u16 {
    // SAFETY: `language` is a loaded grammar, `state` and `symbol` within its counts.
    unsafe {
        if state < language.large_state_count {
            return *language.parse_table.add((state * language.symbol_count) as usize + usize::from(symbol));
        }
        let index = *language.small_parse_table_map.add((state - language.large_state_count) as usize);
        let mut data = language.small_parse_table.add(index as usize);
        let group_count = *data;
        data = data.add(1);
        for _ in 0..group_count {
            let value = *data;
            let symbols = *data.add(1);
            data = data.add(2);
            for _ in 0..symbols {
                if *data == symbol {
                    return value;
                }
                data = data.add(1);
            }
        }
        0
    }
}

fn raw(grammar: &tree_sitter::Language) -> &RawLanguage {
    // SAFETY: a `tree_sitter::Language` points at a loaded `TSLanguage`; only the fields common to
    // ABI 14 and 15 are read.
    unsafe { &*grammar.clone().into_raw().cast::<RawLanguage>() }
}

#[test]
fn every_lookup_of_every_grammar_answers_as_the_crates_table() {
    for language in Language::ALL {
        let (shipped, dense) = (language.crate_grammar(), language.grammar());
        let (shipped, dense) = (raw(&shipped), raw(&dense));
        assert!(shipped.large_state_count < shipped.state_count, "{}: nothing to expand", language.name());
        assert_eq!(dense.large_state_count, dense.state_count, "{}", language.name());
        assert_eq!(
            (dense.abi_version, dense.symbol_count, dense.token_count, dense.state_count),
            (shipped.abi_version, shipped.symbol_count, shipped.token_count, shipped.state_count)
        );
        let mut nonzero = 0usize;
        for state in 0..shipped.state_count {
            for symbol in 0..shipped.symbol_count as u16 {
                let want = lookup(shipped, state, symbol);
                assert_eq!(
                    lookup(dense, state, symbol),
                    want,
                    "{} state {state} symbol {symbol}",
                    language.name()
                );
                nonzero += usize::from(want != 0);
            }
        }
        assert!(nonzero > shipped.state_count as usize, "{}: an empty table proves nothing", language.name());
    }
}

#[test]
fn the_public_next_state_and_names_are_unchanged() {
    for language in Language::ALL {
        let (shipped, dense) = (language.crate_grammar(), language.grammar());
        assert_eq!(dense.node_kind_count(), shipped.node_kind_count());
        assert_eq!(dense.name(), shipped.name());
        let symbols = raw(&shipped).symbol_count as u16;
        for state in 0..shipped.parse_state_count() as u16 {
            for symbol in 0..symbols {
                assert_eq!(
                    dense.next_state(state, symbol),
                    shipped.next_state(state, symbol),
                    "{}",
                    language.name()
                );
            }
        }
        for kind in 0..shipped.node_kind_count() as u16 {
            assert_eq!(dense.node_kind_for_id(kind), shipped.node_kind_for_id(kind));
        }
    }
}

#[test]
fn a_grammar_is_expanded_once_per_process() {
    for language in Language::ALL {
        assert_eq!(language.grammar().into_raw(), language.grammar().into_raw(), "{}", language.name());
        assert_ne!(language.grammar().into_raw(), language.crate_grammar().into_raw(), "{}", language.name());
    }
}

/// Every node of `tree` in document order: its kind, span and error flags.
fn nodes(tree: &tree_sitter::Tree) -> Vec<(u16, usize, usize, bool, bool, bool)> {
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    'walk: loop {
        let node = cursor.node();
        out.push((
            node.kind_id(),
            node.start_byte(),
            node.end_byte(),
            node.is_error(),
            node.is_missing(),
            node.is_named(),
        ));
        if cursor.goto_first_child() {
            continue;
        }
        while !cursor.goto_next_sibling() {
            if !cursor.goto_parent() {
                break 'walk;
            }
        }
    }
    out
}

const SOURCES: [(Language, &str); 12] = [
    (Language::Python, "import os\n\nclass Cache(dict):\n    \"\"\"Doc.\"\"\"\n    def get(self, key, default=None):\n        try:\n            return self[key] if key in self else default\n        except KeyError as e:\n            raise ValueError(f\"{key!r}: {e}\") from e\n\nprint([x ** 2 for x in range(10) if x % 3], {k: v for k, v in os.environ.items()})\n"),
    (Language::JavaScript, "export async function load(url, { retries = 3 } = {}) {\n  for (let i = 0; i < retries; i++) {\n    try { const r = await fetch(`${url}?n=${i}`); return r.json(); }\n    catch (e) { console.error(e); }\n  }\n  return null;\n}\nconst sum = (...xs) => xs.reduce((a, b) => a + b, 0);\n"),
    (Language::TypeScript, "interface Point<T> { x: T; y?: T }\nexport function norm<T extends number>(p: Point<T>): number {\n  const { x, y = 0 as T } = p;\n  return Math.sqrt(x * x + (y as number) ** 2);\n}\nenum Color { Red = 1, Green }\ntype Pair = [string, number] | null;\n"),
    (Language::Tsx, "import React from 'react';\nexport const List = ({ items }: { items: string[] }) => (\n  <ul className=\"list\">{items.map((s, i) => <li key={i}>{s.toUpperCase()}</li>)}</ul>\n);\n"),
    (Language::Java, "package a.b;\nimport java.util.*;\npublic final class Stack<T> implements Iterable<T> {\n  private final List<T> items = new ArrayList<>();\n  @Override public Iterator<T> iterator() { return items.iterator(); }\n  public T pop() { if (items.isEmpty()) throw new IllegalStateException(\"empty\"); return items.remove(items.size() - 1); }\n}\n"),
    (Language::C, "#include <stdio.h>\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\nstatic int count(const char *s, char c) {\n  int n = 0;\n  while (*s) { if (*s++ == c) n++; }\n  return n;\n}\nstruct node { struct node *next; unsigned long key : 12; };\nint main(int argc, char **argv) { printf(\"%d\\n\", MAX(count(argv[0], 'a'), argc)); return 0; }\n"),
    (Language::Cpp, "#include <vector>\nnamespace geo {\ntemplate <typename T> class Grid {\n public:\n  explicit Grid(size_t n) : cells_(n * n) {}\n  T& operator()(size_t i, size_t j) { return cells_[i * n_ + j]; }\n private:\n  std::vector<T> cells_; size_t n_ = 0;\n};\n}  // namespace geo\nauto f = [](auto&& x) -> decltype(auto) { return std::forward<decltype(x)>(x); };\n"),
    (Language::Go, "package main\n\nimport \"fmt\"\n\ntype Shape interface{ Area() float64 }\n\nfunc total(shapes ...Shape) (sum float64) {\n\tfor _, s := range shapes {\n\t\tsum += s.Area()\n\t}\n\treturn\n}\n\nfunc main() { ch := make(chan int, 2); go func() { ch <- 1 }(); fmt.Println(<-ch, total()) }\n"),
    (Language::Rust, "use std::collections::HashMap;\n\n#[derive(Debug, Clone)]\npub struct Index<'a> { words: HashMap<&'a str, Vec<usize>> }\n\nimpl<'a> Index<'a> {\n    pub fn add(&mut self, text: &'a str) -> usize {\n        for (i, w) in text.split_whitespace().enumerate() { self.words.entry(w).or_default().push(i); }\n        self.words.len()\n    }\n}\nmacro_rules! sq { ($x:expr) => { $x * $x }; }\n"),
    (Language::CSharp, "using System.Linq;\nnamespace Shop {\n  public record Item(string Name, decimal Price);\n  public static class Cart {\n    public static decimal Total(this IEnumerable<Item> items) => items.Where(i => i.Price > 0).Sum(i => i.Price);\n    public static async Task<int> CountAsync() { await Task.Delay(1); return 1; }\n  }\n}\n"),
    (Language::Ruby, "module Store\n  class Item < Struct.new(:name, :price)\n    def to_s = \"#{name}: #{'%.2f' % price}\"\n  end\n\n  def self.total(items)\n    items.select { |i| i.price.positive? }.sum(&:price)\n  rescue StandardError => e\n    warn e.message\n  end\nend\n"),
    (Language::Php, "<?php\nnamespace App;\nfinal class Repo {\n  public function __construct(private array $rows = []) {}\n  public function find(int $id): ?array { return $this->rows[$id] ?? null; }\n  public function all(): array { return array_map(fn($r) => $r['name'], $this->rows); }\n}\necho (new Repo([1 => ['name' => 'a']]))->find(1)['name'] . \"\\n\";\n"),
];

/// `source` cut, spliced and doubled in `variants` seeded ways, so that error recovery runs too.
fn damaged(source: &str, variants: usize) -> Vec<String> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ source.len() as u64;
    let mut next = move |bound: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % bound.max(1) as u64) as usize
    };
    let boundaries: Vec<usize> = (0..=source.len()).filter(|&i| source.is_char_boundary(i)).collect();
    (0..variants)
        .map(|_| {
            let mut cut = [boundaries[next(boundaries.len())], boundaries[next(boundaries.len())]];
            cut.sort_unstable();
            let at = boundaries[next(boundaries.len())];
            match next(3) {
                0 => format!("{}{}", &source[..cut[0]], &source[cut[1]..]),
                1 => format!("{}{}{}", &source[..at], &source[cut[0]..cut[1]], &source[at..]),
                _ => format!("{}){{\"'{}", &source[..at], &source[at..]),
            }
        })
        .collect()
}

#[test]
fn every_grammar_parses_whole_and_damaged_code_to_the_same_trees() {
    let (mut shipped, mut dense) = (tree_sitter::Parser::new(), tree_sitter::Parser::new());
    for (language, source) in SOURCES {
        shipped.set_language(&language.crate_grammar()).unwrap();
        dense.set_language(&language.grammar()).unwrap();
        let whole = shipped.parse(source, None).unwrap();
        assert!(!whole.root_node().has_error(), "{}: the sample should parse cleanly", language.name());
        let mut recovered = 0;
        for text in std::iter::once(source.to_owned()).chain(damaged(source, 200)) {
            let (want, got) = (shipped.parse(&text, None).unwrap(), dense.parse(&text, None).unwrap());
            assert_eq!(nodes(&got), nodes(&want), "{}: {text:?}", language.name());
            recovered += usize::from(want.root_node().has_error());
        }
        assert!(
            recovered > 50,
            "{}: only {recovered} damaged texts exercised error recovery",
            language.name()
        );
    }
}
