//! The parsed tree every HTML transform works on: [`fragment`] and [`document`] parse with a
//! bound on how many elements may be open at once, and [`walk`] visits a tree without
//! recursion. Pure.
//!
//! Both exist because partner HTML is hostile input. html5ever builds any depth, and its
//! scope checks walk the whole stack of open elements on every block start tag, so 100,000
//! nested `<div>`s took minutes; a recursive walk over such a tree overflows the stack. The
//! sanitizer, HTML→text and the excerpts all parse with [`fragment`] and walk with [`walk`].

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use ego_tree::{NodeId, NodeRef};
use html5ever::interface::TreeSink;
use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::State;
use html5ever::tokenizer::{
    BufferQueue, Tag, TagKind, Token, TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};
use html5ever::tree_builder::{Tracer, TreeBuilder, TreeBuilderOpts, create_element};
use html5ever::{LocalName, QualName, TokenizerResult, local_name, ns};
use scraper::{Html, HtmlTreeSink, Node};

use crate::html::sanitize::SafeHtml;

/// Elements the parser keeps open at once (formatting elements waiting to be reopened count
/// too). Browsers stop nesting at 512; no article comes near this, and every parser step
/// stays cheap below it. Start tags beyond it are left out (their content stays, one level
/// up), together with their end tags.
pub const MAX_OPEN_ELEMENTS: usize = 256;

/// Attributes one tag may carry. html5ever compares each new attribute with every earlier
/// one of its tag, so a single tag with a million attributes costs about half an hour of
/// CPU within the body cap; real markup stays far below this.
pub const MAX_ATTRIBUTES: usize = 256;

/// The start of `html` before the first tag that carries more than [`MAX_ATTRIBUTES`]
/// attributes (all of `html` when none does). One pass, quotes respected; attributes are
/// counted as the runs of non-space characters after a tag's name.
pub fn before_crowded_tag(html: &str) -> &str {
    let bytes = html.as_bytes();
    let mut i = 0;
    while let Some(offset) = bytes[i..].iter().position(|&b| b == b'<') {
        let start = i + offset;
        i = start + 1;
        if !bytes.get(i).is_some_and(u8::is_ascii_alphabetic) {
            continue;
        }
        let (mut attributes, mut quote, mut after_space) = (0usize, None, false);
        while let Some(&b) = bytes.get(i) {
            i += 1;
            match (quote, b) {
                (Some(q), _) if b == q => quote = None,
                (Some(_), _) => {}
                (None, b'"' | b'\'') => quote = Some(b),
                (None, b'>') => break,
                (None, _) if b.is_ascii_whitespace() || b == b'/' => after_space = true,
                (None, _) => {
                    if after_space {
                        attributes += 1;
                        if attributes > MAX_ATTRIBUTES {
                            return &html[..start];
                        }
                    }
                    after_space = false;
                }
            }
        }
    }
    html
}

/// Parses an HTML fragment as the body of a document would, the way scraper's
/// `Html::parse_fragment` does, except that at most [`MAX_OPEN_ELEMENTS`] are open at once.
pub fn fragment(html: &str) -> Html {
    fragment_of(before_crowded_tag(html))
}

/// [`fragment`] of sanitized HTML: its tags carry a few allowed attributes at most, so
/// there is no crowded tag to look for.
pub fn safe_fragment(html: &SafeHtml) -> Html {
    fragment_of(html.as_str())
}

fn fragment_of(html: &str) -> Html {
    let sink = HtmlTreeSink::new(Html::new_fragment());
    let context = create_element(
        &sink,
        QualName::new(None, ns!(html), local_name!("body")),
        Vec::new(),
    );
    let builder = TreeBuilder::new_for_fragment(sink, context, None, TreeBuilderOpts::default());
    let state = builder.tokenizer_state_for_context_elem(false);
    parse(builder, Some(state), html)
}

/// Parses a whole HTML page, the way scraper's `Html::parse_document` does, except that at
/// most [`MAX_OPEN_ELEMENTS`] are open at once.
pub fn document(html: &str) -> Html {
    let sink = HtmlTreeSink::new(Html::new_document());
    parse(
        TreeBuilder::new(sink, TreeBuilderOpts::default()),
        None,
        before_crowded_tag(html),
    )
}

/// Parses `html`, already cut before any crowded tag.
fn parse(builder: Builder, initial_state: Option<State>, html: &str) -> Html {
    let opts = TokenizerOpts {
        initial_state,
        ..TokenizerOpts::default()
    };
    let tokenizer = Tokenizer::new(
        Bounded {
            builder,
            held: Cell::new(None),
            dropped: RefCell::new(HashMap::new()),
        },
        opts,
    );
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    // The builder pauses after each `</script>` (for a browser to run it); resume.
    while let TokenizerResult::Script(_) = tokenizer.feed(&input) {}
    tokenizer.end();
    tokenizer.sink.builder.sink.finish()
}

type Builder = TreeBuilder<NodeId, HtmlTreeSink>;

/// Sits between the tokenizer and the tree builder and leaves out start tags that would
/// open more than [`MAX_OPEN_ELEMENTS`].
struct Bounded {
    builder: Builder,
    /// What [`Bounded::held`] counted, until the builder next gets a token: a run of
    /// left-out start tags is counted once, not once per tag.
    held: Cell<Option<usize>>,
    /// Names of start tags left out, with how many of their end tags to leave out too.
    dropped: RefCell<HashMap<LocalName, usize>>,
}

/// Counts the handles the tree builder holds: the open elements, the formatting elements
/// it may reopen, and a few fixed ones. The count is an upper bound on the open elements,
/// read through the builder's public tracing hook.
struct Count(Cell<usize>);

impl Tracer for Count {
    type Handle = NodeId;
    fn trace_handle(&self, _: &NodeId) {
        self.0.set(self.0.get() + 1);
    }
}

impl Bounded {
    fn held(&self) -> usize {
        if let Some(n) = self.held.get() {
            return n;
        }
        let count = Count(Cell::new(0));
        self.builder.trace_handles(&count);
        self.held.set(Some(count.0.get()));
        count.0.get()
    }

    /// Whether the start tag `tag` is left out.
    fn drops(&self, tag: &Tag) -> bool {
        // Void elements open nothing. Raw-text elements switch the tokenizer, so leaving
        // one out would read a script's or a stylesheet's text as markup; they hold only
        // text, so letting them through opens one element at most.
        let raw_text = matches!(
            &*tag.name,
            "script"
                | "style"
                | "textarea"
                | "title"
                | "xmp"
                | "iframe"
                | "noembed"
                | "noframes"
                | "noscript"
                | "plaintext"
        ) && !self
            .builder
            .adjusted_current_node_present_but_not_in_html_namespace();
        if is_void(&tag.name) || raw_text {
            return false;
        }
        self.held() >= MAX_OPEN_ELEMENTS
    }
}

impl TokenSink for Bounded {
    type Handle = NodeId;

    fn process_token(&self, token: Token, line: u64) -> TokenSinkResult<NodeId> {
        if let Token::TagToken(tag) = &token {
            let mut dropped = self.dropped.borrow_mut();
            match tag.kind {
                TagKind::StartTag if self.drops(tag) => {
                    *dropped.entry(tag.name.clone()).or_default() += 1;
                    return TokenSinkResult::Continue;
                }
                TagKind::EndTag => {
                    // The deepest start tags are the ones left out, so in well-formed
                    // input theirs are the first end tags to come.
                    if let Some(n) = dropped.get_mut(&tag.name).filter(|n| **n > 0) {
                        *n -= 1;
                        return TokenSinkResult::Continue;
                    }
                }
                TagKind::StartTag => {}
            }
        }
        self.held.set(None);
        self.builder.process_token(token, line)
    }

    fn end(&self) {
        self.builder.end();
    }

    fn adjusted_current_node_present_but_not_in_html_namespace(&self) -> bool {
        self.builder
            .adjusted_current_node_present_but_not_in_html_namespace()
    }
}

fn is_void(name: &LocalName) -> bool {
    matches!(
        &**name,
        "area"
            | "base"
            | "basefont"
            | "bgsound"
            | "br"
            | "col"
            | "embed"
            | "frame"
            | "hr"
            | "image"
            | "img"
            | "input"
            | "keygen"
            | "link"
            | "meta"
            | "param"
            | "source"
            | "track"
            | "wbr"
    )
}

/// What a [`walk`] does at each node.
pub trait Visit<'a> {
    /// What to do after a node's children, decided when entering it.
    type Leave;
    /// Called on entering `node`: `Some` to visit its children and then [`Visit::leave`],
    /// `None` to skip them.
    fn enter(&mut self, node: NodeRef<'a, Node>) -> Option<Self::Leave>;
    /// Called after the children of a node [`Visit::enter`] descended into.
    fn leave(&mut self, leave: Self::Leave);
    /// Whether the walk is over: no further node is entered, and every node entered is
    /// left, innermost first.
    fn done(&self) -> bool {
        false
    }
}

/// Visits the children of `parent` and their descendants in document order, keeping the
/// path from `parent` on the heap instead of the call stack.
pub fn walk<'a, V: Visit<'a>>(parent: NodeRef<'a, Node>, visit: &mut V) {
    let mut open: Vec<(V::Leave, NodeRef<'a, Node>)> = Vec::new();
    let mut next = parent.first_child();
    loop {
        match next {
            Some(node) if !visit.done() => match visit.enter(node) {
                Some(leave) => {
                    next = node.first_child();
                    open.push((leave, node));
                }
                None => next = node.next_sibling(),
            },
            _ => {
                let Some((leave, node)) = open.pop() else {
                    return;
                };
                visit.leave(leave);
                next = node.next_sibling();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The element names on the path from the root to the deepest node.
    fn depth(html: &Html) -> usize {
        html.tree
            .nodes()
            .map(|n| n.ancestors().count())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn a_tag_with_too_many_attributes_ends_the_markup_before_it() {
        let crowded: String = (0..=MAX_ATTRIBUTES)
            .map(|i| format!(" a{i}=\"{i}\""))
            .collect();
        let html = format!("<p class=\"x\">Acción urgente</p><p{crowded}>relleno</p><p>fin</p>");
        assert_eq!(
            before_crowded_tag(&html),
            "<p class=\"x\">Acción urgente</p>"
        );
        // Quoted `>` and spaces are part of a value, not new attributes.
        let busy: String = (0..MAX_ATTRIBUTES)
            .map(|i| format!(" a{i}=\"1 > 2\""))
            .collect();
        let fine = format!("<p{busy}>texto</p>");
        assert_eq!(before_crowded_tag(&fine), fine);
        // A million attributes are read in one pass and cut, not parsed.
        let huge = format!("<p>a</p><b{}>x</b>", " z".repeat(1_000_000));
        let started = std::time::Instant::now();
        assert_eq!(
            fragment(&huge).root_element().text().collect::<String>(),
            "a"
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn ordinary_html_parses_as_scraper_parses_it() {
        let html = "<p>Acción <b>urgente<p>en <i>Oaxaca</b> y Chiapas</i></p><table><td>1</table>\
                    <svg><title>Mapa</title><path/></svg><script>if (a < b) x()</script><!-- nota -->";
        assert_eq!(
            fragment(html).root_element().html(),
            Html::parse_fragment(html).root_element().html()
        );
        let page = format!(
            "<!DOCTYPE html><html lang=es><head><title>Red</title><meta charset=utf-8></head>\
             <body><main><article>{html}</article></main></body></html>"
        );
        assert_eq!(document(&page).html(), Html::parse_document(&page).html());
        let deep = format!("<title>Red</title>{}x", "<section>".repeat(10_000));
        assert!(depth(&document(&deep)) <= MAX_OPEN_ELEMENTS + 8);
    }

    #[test]
    fn nesting_stops_at_the_bound_and_keeps_the_text() {
        for tag in ["div", "b", "blockquote", "span", "svg", "ul", "em"] {
            let n = 5_000;
            let html = format!(
                "{}Hola, señora{}<p>después</p>",
                format!("<{tag}>").repeat(n),
                format!("</{tag}>").repeat(n)
            );
            let tree = fragment(&html);
            let d = depth(&tree);
            assert!(d <= MAX_OPEN_ELEMENTS + 8, "{tag}: depth {d}");
            assert!(d >= MAX_OPEN_ELEMENTS / 2, "{tag}: depth {d}");
            let text: String = tree.root_element().text().collect();
            assert!(text.contains("Hola, señora"), "{tag}");
            // The end tags of the left-out elements were left out too: what follows is
            // back at the top.
            let p = tree
                .tree
                .nodes()
                .find(|n| n.value().as_element().is_some_and(|e| e.name() == "p"));
            if tag != "svg" {
                assert!(p.is_some_and(|p| p.ancestors().count() <= 3), "{tag}");
            }
        }
    }

    #[test]
    fn scripts_beyond_the_bound_stay_scripts() {
        let html = format!("{}<script>a<b>c</b></script>", "<div>".repeat(1_000));
        let tree = fragment(&html);
        let script = tree
            .tree
            .nodes()
            .find(|n| n.value().as_element().is_some_and(|e| e.name() == "script"));
        let text: Vec<&str> = script
            .into_iter()
            .flat_map(|s| s.children())
            .filter_map(|c| c.value().as_text().map(|t| &**t))
            .collect();
        assert_eq!(text, ["a<b>c</b>"]);
    }

    #[test]
    fn a_walk_stops_when_done_and_leaves_what_it_entered() {
        struct Names(Vec<String>, usize);
        impl<'a> Visit<'a> for Names {
            type Leave = String;
            fn enter(&mut self, node: NodeRef<'a, Node>) -> Option<String> {
                let name = node.value().as_element()?.name().to_string();
                self.0.push(name.clone());
                self.1 += 1;
                Some(format!("/{name}"))
            }
            fn leave(&mut self, leave: String) {
                self.0.push(leave);
            }
            fn done(&self) -> bool {
                self.1 >= 3
            }
        }
        let tree = fragment("<p>a<b>b<i>c</i></b></p><ul><li>d</li></ul>");
        let mut names = Names(Vec::new(), 0);
        walk(*tree.root_element(), &mut names);
        assert_eq!(names.0, ["p", "b", "i", "/i", "/b", "/p"]);
    }
}
