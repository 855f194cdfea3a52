// Package csp parses Content-Security-Policy header values strictly, for
// auditing: it says what a policy literally contains and what a browser
// would ignore, and leaves judging the policy to the caller.
//
//	policies, err := csp.ParseHeader(resp.Header.Values("Content-Security-Policy"))
//	for _, p := range policies {
//		scripts, restricted := p.Effective("script-src")
//		...
//	}
//
// # Grammar
//
// A header value is a list of policies separated by "," (CSP Level 3 §2.2.2,
// and what HTTP makes of repeated header lines); [ParseHeader] splits it and
// calls [Parse] on each. A policy is a list of directives separated by ";":
//
//	serialized-policy    = [ directive *( ";" [ directive ] ) ]
//	serialized-directive = directive-name [ RWS directive-value ]
//	directive-name       = 1*( ALPHA / DIGIT / "-" )
//	directive-value      = *( RWS / ( %x21-%x2B / %x2D-%x3A / %x3C-%x7E ) )
//
// # Strictness decisions
//
//   - Directive names are case-insensitive and returned lower-cased.
//   - The first occurrence of a directive wins, as in browsers; later ones
//     are ignored and their names listed in [Policy.Duplicates] so an
//     auditor can flag them.
//   - A name that is not in the grammar (for example "script_src" or one with
//     non-ASCII letters), a value byte outside the grammar (control
//     characters, non-ASCII), an empty policy, or an input longer than
//     [MaxLen] is an error wrapping [ErrSyntax]. Browsers skip such
//     directives silently, which is exactly what an auditor must not do.
//   - Names the specifications do not define are kept and also listed in
//     [Policy.Unknown]: they are usually typos ("scirpt-src") that leave the
//     policy weaker than its author believes.
//   - Source expressions that match none of the source grammars of CSP
//     Level 3 §2.3.1 (keywords must be quoted, nonces and hashes need
//     base64 values) are kept in the directive and also listed in
//     [Policy.Invalid]; browsers ignore them.
//
// [Classify] tells keywords, nonces, hashes, schemes and hosts apart, and
// [Policy.Effective] applies the fallback lists of CSP Level 3 §6.8.3 (for
// example script-src falls back to default-src).
package csp
