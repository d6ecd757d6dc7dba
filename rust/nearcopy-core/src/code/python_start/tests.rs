use super::*;

fn parser(language: Language) -> Parser {
    let mut parser = Parser::new();
    parser.set_language(&language.grammar()).unwrap();
    parser
}

/// The text of every leaf of `tree`, in order.
fn leaves<'a>(tree: &Tree, source: &'a str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut cursor = tree.walk();
    'walk: loop {
        if cursor.node().child_count() == 0 {
            let node = cursor.node();
            out.push(&source[node.start_byte()..node.end_byte()]);
        } else if cursor.goto_first_child() {
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

const BODY: &str = "        self.assertEqual(round(85.0, -1), 80.0)\n        for item in items:\n\n            self.check(item)\n        return self.result\n";

#[test]
fn the_tail_of_a_cut_line_before_an_indented_body_is_left_out() {
    for tail in ["e(), \"module\")\n", "5.0, -1), 80.0)\n", "est_local(self):\n"] {
        let text = format!("{tail}{BODY}");
        let mut parser = parser(Language::Python);
        let plain = parser.parse(&text, None).unwrap();
        assert!(plain.root_node().has_error(), "the premise: {tail:?} then a deeper line is an error");
        assert_eq!(python_start(&text), Some(tail.len()));
        let tree = parse_code(&mut parser, &text, Language::Python).unwrap();
        assert!(!tree.root_node().has_error(), "{}", tree.root_node().to_sexp());
        // The body's nodes keep their offsets in the text; the cut line gives none.
        let words = leaves(&tree, &text);
        assert_eq!(words[..4], ["self", ".", "assertEqual", "("]);
        let first = tree.root_node().child(0).unwrap();
        assert_eq!((first.start_byte(), first.start_position()), (tail.len() + 8, Point::new(1, 8)));
        let body_alone = parser.parse(BODY, None).unwrap();
        assert_eq!(tree.root_node().to_sexp(), body_alone.root_node().to_sexp());
    }
}

#[test]
fn a_line_closing_brackets_it_never_opened_is_a_cut_tail_whatever_follows() {
    let text = "example))\n\nclass Stack:\n    def push(self, x):\n        self.items.append(x)\n";
    assert_eq!(python_start(text), Some("example))\n".len()));
    let tree = parse_code(&mut parser(Language::Python), text, Language::Python).unwrap();
    assert!(!tree.root_node().has_error());
}

#[test]
fn the_tail_of_a_signature_over_several_lines_is_left_out_to_its_closing_bracket() {
    let tail = "e_start: cpy.CoordinateArray,\n    line_end: cpy.CoordinateArray,\n) -> None:\n";
    let text = format!("{tail}    mid = 0.5*(line_start + line_end)\n    along = line_end - line_start\n");
    assert_eq!(python_start(&text), Some(tail.len()));
    let tree = parse_code(&mut parser(Language::Python), &text, Language::Python).unwrap();
    assert!(!tree.root_node().has_error(), "{}", tree.root_node().to_sexp());
    assert_eq!(tree.root_node().child(0).unwrap().start_position(), Point::new(3, 4));
    // Past the first lines, a closing bracket is the text's own business.
    let late = format!("{}x)\n", "a = 1\n".repeat(MAX_CUT_LINES));
    assert_eq!(python_start(&late), None);
}

#[test]
fn whole_blocks_modules_and_continued_lines_are_read_whole() {
    for text in [
        "class Stack:\n    def push(self, x):\n        self.items.append(x)\n", // opens the block
        "def f(x):  \n    return x\n",
        "x = call(\n    first,\n    second)\n", // a bracket left open
        "import os\n\ndef f():\n    return os.sep\n", // a line at the margin after the first
        "        result = []\n        return result\n", // indented from the first line on
        "name = first\n        self.check()\n", // the grammar reads this as it is
        "    elif ready:\n        go()\n",
        // a docstring's first line, a line whose brackets close inside strings or comments
        "\"\"\"      turtle-example-suite:\n\n            tdemo_nim.py\n\"\"\"\nimport turtle\n",
        "print(\":)\", x)  # :)\n    more()\n",
        "x = 1  # see (a))\n    y = 2\n",
        "label = 'tail:'  \n    next_line()\n",
        "    x = 1\n", // nothing after the first line
        "x = 1",
        "",
    ] {
        assert_eq!(python_start(text), None, "{text:?}");
    }
}

#[test]
fn other_languages_and_later_parses_read_everything() {
    let c = "e(), 1);\n    return x;\n";
    let mut c_parser = parser(Language::C);
    let plain = c_parser.parse(c, None).unwrap().root_node().to_sexp();
    assert_eq!(parse_code(&mut c_parser, c, Language::C).unwrap().root_node().to_sexp(), plain);
    let mut parser = parser(Language::Python);
    parse_code(&mut parser, &format!("x)\n{BODY}"), Language::Python).unwrap();
    let module = "x = 1\n";
    let tree = parser.parse(module, None).unwrap();
    assert_eq!((tree.root_node().start_byte(), tree.root_node().end_byte()), (0, module.len()));
}

#[test]
fn the_cut_line_keeps_its_tokens_before_the_bodys() {
    use crate::code::{CodeNormalizer, CodeOptions};
    let opts = CodeOptions::new(Language::Python);
    let symbols = |n: &mut CodeNormalizer, text: &str| -> Vec<(String, usize)> {
        let tokens = n.normalize(text, &opts).unwrap().to_vec();
        tokens.iter().map(|t| (n.normalized()[t.norm_start..t.norm_end].to_string(), t.start)).collect()
    };
    let mut normalizer = CodeNormalizer::new();
    let tail = "e(), \"module\")\n";
    let text = format!("{tail}{BODY}");
    let got = symbols(&mut normalizer, &text);
    // The line alone, then the body alone (shifted by the line's length): the same symbols.
    let mut expected = symbols(&mut normalizer, tail);
    expected.extend(symbols(&mut normalizer, BODY).into_iter().map(|(s, at)| (s, at + tail.len())));
    assert_eq!(got, expected);
    assert_eq!(got[..3].iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>(), ["$id", "(", ")"]);
    // A kept tree (the splitter's, parsed from the second line on) reads the same.
    let mut parser = parser(Language::Python);
    let tree = parse_code(&mut parser, &text, Language::Python).unwrap();
    let kept = normalizer.normalize_parsed(&tree, &text, &opts).to_vec();
    let kept: Vec<(String, usize)> = kept
        .iter()
        .map(|t| (normalizer.normalized()[t.norm_start..t.norm_end].to_string(), t.start))
        .collect();
    assert_eq!(kept, expected);
}
