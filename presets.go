package forcehttps

import "sort"

// Preset names the trust a hosting platform needs in one word: which
// headers carry the client's scheme and which peers may set them. See the
// package documentation for the table and the reasoning behind each entry.
type Preset string

// The platform presets. The zero value, "", is the same as [PresetNone].
const (
	// PresetNone trusts no peer. Forwarding headers are read only from the
	// peers listed in Config.TrustedProxies.
	PresetNone Preset = "none"
	// PresetCloudRun is Google Cloud Run: the Google Front End is the only
	// way to reach the container, so any peer is trusted for
	// X-Forwarded-Proto.
	PresetCloudRun Preset = "cloudrun"
	// PresetHeroku is the Heroku router: dynos are reachable only through
	// it, so any peer is trusted for X-Forwarded-Proto.
	PresetHeroku Preset = "heroku"
	// PresetScalingo is the Scalingo router: containers are reachable only
	// through it, so any peer is trusted for X-Forwarded-Proto.
	PresetScalingo Preset = "scalingo"
	// PresetAWSALB is an AWS Application Load Balancer in the same VPC:
	// X-Forwarded-Proto from private (RFC 1918 and ULA) addresses.
	PresetAWSALB Preset = "aws-alb"
	// PresetCloudFront is Amazon CloudFront: CloudFront-Forwarded-Proto.
	// CloudFront's address ranges are long and change, so this preset needs
	// Config.TrustedProxies (the CLOUDFRONT_ORIGIN_FACING ranges AWS
	// publishes).
	PresetCloudFront Preset = "cloudfront"
	// PresetCloudflare is Cloudflare's proxy: CF-Visitor and
	// X-Forwarded-Proto from Cloudflare's published address ranges.
	PresetCloudflare Preset = "cloudflare"
	// PresetAzure is Azure App Service: the front ends are the only way in;
	// X-ARR-SSL and X-Forwarded-Proto from any peer.
	PresetAzure Preset = "azure"
	// PresetFly is Fly.io's proxy: X-Forwarded-Proto from any peer. Other
	// machines of the same organisation can reach an app over the private
	// network; list TrustedProxies instead if they are not all yours.
	PresetFly Preset = "fly"
	// PresetKubernetesIngress is an ingress controller inside a cluster:
	// X-Forwarded-Proto and Forwarded from private (RFC 1918 and ULA)
	// addresses.
	PresetKubernetesIngress Preset = "kubernetes-ingress"
)

// presetDef is what a preset sets.
type presetDef struct {
	headers     []string // canonical header names, in order of preference
	anyPeer     bool     // trust the direct peer whatever its address
	ranges      []string // trusted CIDRs
	needsRanges bool     // Config.TrustedProxies must list ranges
	summary     string   // one line for docs and the inspector
}

// privateRanges are the address blocks a VPC or cluster network uses.
var privateRanges = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7"}

// cloudflareRanges are Cloudflare's published edge ranges (www.cloudflare.com/ips,
// as of 2026). Add newer ranges through Config.TrustedProxies.
var cloudflareRanges = []string{
	"173.245.48.0/20", "103.21.244.0/22", "103.22.200.0/22", "103.31.4.0/22",
	"141.101.64.0/18", "108.162.192.0/18", "190.93.240.0/20", "188.114.96.0/20",
	"197.234.240.0/22", "198.41.128.0/17", "162.158.0.0/15", "104.16.0.0/13",
	"104.24.0.0/14", "172.64.0.0/13", "131.0.72.0/22",
	"2400:cb00::/32", "2606:4700::/32", "2803:f800::/32", "2405:b500::/32",
	"2405:8100::/32", "2a06:98c0::/29", "2c0f:f248::/32",
}

var presets = map[Preset]presetDef{
	PresetNone: {summary: "no proxy trusted"},
	PresetCloudRun: {headers: []string{hdrXFP}, anyPeer: true,
		summary: "any peer (Cloud Run's front end is the only way in), X-Forwarded-Proto"},
	PresetHeroku: {headers: []string{hdrXFP}, anyPeer: true,
		summary: "any peer (the Heroku router is the only way in), X-Forwarded-Proto"},
	PresetScalingo: {headers: []string{hdrXFP}, anyPeer: true,
		summary: "any peer (the Scalingo router is the only way in), X-Forwarded-Proto"},
	PresetAWSALB: {headers: []string{hdrXFP}, ranges: privateRanges,
		summary: "private VPC addresses, X-Forwarded-Proto"},
	PresetCloudFront: {headers: []string{hdrCloudFront}, needsRanges: true,
		summary: "TrustedProxies (CloudFront origin-facing ranges), CloudFront-Forwarded-Proto"},
	PresetCloudflare: {headers: []string{hdrCFVisitor, hdrXFP}, ranges: cloudflareRanges,
		summary: "Cloudflare's published ranges, CF-Visitor and X-Forwarded-Proto"},
	PresetAzure: {headers: []string{hdrARRSSL, hdrXFP}, anyPeer: true,
		summary: "any peer (App Service front ends are the only way in), X-ARR-SSL and X-Forwarded-Proto"},
	PresetFly: {headers: []string{hdrXFP}, anyPeer: true,
		summary: "any peer (Fly's proxy; mind the private network), X-Forwarded-Proto"},
	PresetKubernetesIngress: {headers: []string{hdrXFP, hdrForwarded}, ranges: privateRanges,
		summary: "private cluster addresses, X-Forwarded-Proto and Forwarded"},
}

// Presets returns the names of every platform preset, sorted.
func Presets() []Preset {
	out := make([]Preset, 0, len(presets))
	for p := range presets {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Summary describes in one line whom the preset trusts and which headers it
// reads, or "" for an unknown preset.
func (p Preset) Summary() string {
	if p == "" {
		p = PresetNone
	}
	return presets[p].summary
}

// The forwarding headers the middleware can read, in canonical form.
const (
	hdrForwarded  = "Forwarded"
	hdrXFP        = "X-Forwarded-Proto"
	hdrXFSSL      = "X-Forwarded-Ssl"
	hdrCloudFront = "Cloudfront-Forwarded-Proto"
	hdrARRSSL     = "X-Arr-Ssl"
	hdrCFVisitor  = "Cf-Visitor"
	hdrXFF        = "X-Forwarded-For"
)

// protoHeaders maps each supported scheme header to its parser kind.
var protoHeaders = map[string]source{
	hdrForwarded:  srcForwarded,
	hdrXFP:        srcXFP,
	hdrXFSSL:      srcXFSSL,
	hdrCloudFront: srcCloudFront,
	hdrARRSSL:     srcARRSSL,
	hdrCFVisitor:  srcCFVisitor,
}

// ProtoHeaders returns the canonical names of the headers that
// Config.ProtoHeaders accepts.
func ProtoHeaders() []string {
	out := make([]string, 0, len(protoHeaders))
	for h := range protoHeaders {
		out = append(out, h)
	}
	sort.Strings(out)
	return out
}
