//! `docs/catalog.md` carries the catalog's counts per app; they must be the catalog's own.

#[test]
fn the_counts_in_docs_match_the_catalog() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/catalog.md");
    let doc = std::fs::read_to_string(path).expect("docs/catalog.md");
    let want = catalog::counts_markdown();
    let start = "<!-- counts: begin -->\n";
    let end = "<!-- counts: end -->";
    let table = doc
        .split_once(start)
        .and_then(|(_, rest)| rest.split_once(end))
        .map(|(t, _)| t)
        .expect("the counts markers in docs/catalog.md");
    assert_eq!(
        table, want,
        "docs/catalog.md is out of date; paste `ghl-bridge catalog --counts` between the markers:\n{want}"
    );
}
