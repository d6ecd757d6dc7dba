//! Code that no one wrote: the helpers a transpiler emits into every file it compiles.
//!
//! TypeScript emits `var __importStar = (this && this.__importStar) || function (mod) {...};` and a
//! dozen more such helpers into each CommonJS file; Babel emits `function _interopRequireDefault(obj)
//! {...}` and its kin. A company's code base holds them in hundreds of files, so a model that writes
//! one reproduces every one of those files, and copies nothing anyone wrote. The protected index
//! puts these spans in its allowlist (never reported), found here by their fixed shapes.

use super::languages::Language;

/// The helpers Babel names with a leading underscore (`@babel/helpers`), as they appear in output.
#[rustfmt::skip]
const BABEL_HELPERS: &[&str] = &[
    "typeof", "jsx", "asyncIterator", "AwaitValue", "AsyncGenerator", "wrapAsyncGenerator",
    "awaitAsyncGenerator", "asyncGeneratorDelegate", "asyncToGenerator", "asyncGeneratorStep",
    "classCallCheck", "createClass", "defineProperties", "defineEnumerableProperties", "defaults",
    "defineProperty", "extends", "objectSpread", "objectSpread2", "ownKeys", "inherits",
    "inheritsLoose", "getPrototypeOf", "setPrototypeOf", "isNativeReflectConstruct", "construct",
    "isNativeFunction", "wrapNativeSuper", "instanceof", "interopRequireDefault",
    "interopRequireWildcard", "getRequireWildcardCache", "newArrowCheck", "objectDestructuringEmpty",
    "objectWithoutPropertiesLoose", "objectWithoutProperties", "assertThisInitialized",
    "possibleConstructorReturn", "createSuper", "superPropBase", "get", "set",
    "taggedTemplateLiteral", "taggedTemplateLiteralLoose", "readOnlyError", "writeOnlyError",
    "classNameTDZError", "slicedToArray", "slicedToArrayLoose", "toArray", "toConsumableArray",
    "arrayWithoutHoles", "arrayWithHoles", "maybeArrayLike", "iterableToArray", "iterableToArrayLimit",
    "iterableToArrayLimitLoose", "unsupportedIterableToArray", "arrayLikeToArray", "nonIterableSpread",
    "nonIterableRest", "createForOfIteratorHelper", "createForOfIteratorHelperLoose", "toPrimitive",
    "toPropertyKey", "initializerWarningHelper", "initializerDefineProperty", "applyDecoratedDescriptor",
    "classPrivateFieldLooseKey", "classPrivateFieldLooseBase", "classPrivateFieldGet",
    "classPrivateFieldSet", "classPrivateFieldDestructureSet", "classExtractFieldDescriptor",
    "classApplyDescriptorGet", "classApplyDescriptorSet", "classStaticPrivateFieldSpecGet",
    "classStaticPrivateFieldSpecSet", "classStaticPrivateMethodGet", "classPrivateMethodGet",
    "checkPrivateRedeclaration", "classPrivateFieldInitSpec", "classPrivateMethodInitSpec",
    "regeneratorRuntime", "defineAccessor", "callSuper", "isNativeReflectConstruct",
];

/// Byte spans of the transpiler helpers in `text` (JavaScript and TypeScript only), in order.
pub fn generated_spans(text: &str, language: Language) -> Vec<(usize, usize)> {
    if !matches!(language, Language::JavaScript | Language::TypeScript | Language::Tsx) {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut line_start = 0;
    while line_start < text.len() {
        let line_end = text[line_start..].find('\n').map_or(text.len(), |at| line_start + at + 1);
        let line = &text[line_start..line_end];
        let indent = line.len() - line.trim_start().len();
        let start = line_start + indent;
        let next = if is_helper_start(line.trim_start()) { statement_end(text, start) } else { None };
        match next {
            Some(end) => {
                out.push((start, end));
                line_start = end;
            }
            None => line_start = line_end,
        }
    }
    out
}

/// `var __name = (this && this.__name) ||` (TypeScript) or `function _helper(` (Babel).
fn is_helper_start(trimmed: &str) -> bool {
    for keyword in ["var ", "let ", "const "] {
        if let Some(rest) = trimmed.strip_prefix(keyword) {
            let name_end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'));
            let Some(name_end) = name_end else { return false };
            let name = &rest[..name_end];
            return name.starts_with("__")
                && rest[name_end..].trim_start().starts_with(&format!("= (this && this.{name}) ||"));
        }
    }
    trimmed.strip_prefix("function _").is_some_and(|rest| {
        let name_end = rest.find('(').unwrap_or(rest.len());
        BABEL_HELPERS.contains(&rest[..name_end].trim_end())
    })
}

/// The end of the statement starting at `start`: after the bracket that closes its first opened
/// one, and a `;` right after, if there is one. Strings and comments are skipped. None if the
/// brackets never close (a cut-off file).
fn statement_end(text: &str, start: usize) -> Option<usize> {
    let bytes = text.as_bytes();
    let (mut depth, mut opened, mut i) = (0usize, false, start);
    while i < bytes.len() {
        match bytes[i] {
            quote @ (b'"' | b'\'' | b'`') => {
                i += 1;
                while i < bytes.len() && bytes[i] != quote {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = text[i + 2..].find("*/").map_or(bytes.len(), |at| i + 2 + at + 1);
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                opened = true;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                // The statement ends where its brackets close and no operator carries it on.
                if opened && depth == 0 && !continues(&text[i + 1..]) {
                    let mut end = i + 1;
                    if bytes.get(end) == Some(&b';') {
                        end += 1;
                    }
                    return Some(end);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Whether the text after a closing bracket carries the statement on (`|| function`, `(`, `.x`, or
/// a function's body after its parameters).
fn continues(rest: &str) -> bool {
    let next = rest.trim_start_matches([' ', '\t']);
    ["||", "&&", "(", "{", ".", "?", ":", "=", "+", ","].iter().any(|op| next.starts_with(op))
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMPILED: &str = r#""use strict";
var __createBinding = (this && this.__createBinding) || (Object.create ? (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    Object.defineProperty(o, k2, { enumerable: true, get: function() { return m[k]; } });
}) : (function(o, m, k, k2) {
    if (k2 === undefined) k2 = k;
    o[k2] = m[k];
}));
var __importStar = (this && this.__importStar) || function (mod) {
    if (mod && mod.__esModule) return mod;
    var result = {};
    return result;
};
Object.defineProperty(exports, "__esModule", { value: true });
function _interopRequireDefault(obj) { return obj && obj.__esModule ? obj : { "default": obj }; }
function mine(a) { return a + "}"; }
"#;

    #[test]
    fn typescript_and_babel_helpers_are_found_whole() {
        let spans = generated_spans(COMPILED, Language::JavaScript);
        let texts: Vec<&str> = spans.iter().map(|&(s, e)| &COMPILED[s..e]).collect();
        assert_eq!(texts.len(), 3, "{texts:#?}");
        assert!(texts[0].starts_with("var __createBinding") && texts[0].ends_with("}));"));
        assert!(texts[1].starts_with("var __importStar") && texts[1].ends_with("};"));
        assert!(texts[2].starts_with("function _interopRequireDefault") && texts[2].ends_with("}; }"));
        assert!(generated_spans(COMPILED, Language::Python).is_empty());
        assert!(
            generated_spans("var __x = (this && this.__x) || function () {", Language::JavaScript).is_empty()
        );
    }
}
