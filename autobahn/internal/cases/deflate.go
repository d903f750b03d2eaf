package cases

// Sections 12 and 13 exercise permessage-deflate (RFC 7692). They are not
// implemented yet; the compression issue will add them. The case type is
// ready for them: Case.Deflate carries the extension offer a case needs (the
// runner puts Offers into Sec-WebSocket-Extensions as a client and checks the
// response with Accept), so a case of these sections is a table entry with a
// script, like the others.
//
// Until then Lookup returns placeholder cases for these ids, and the runner
// reports them as not run instead of failing them.
var plannedSections = map[string]string{
	"12": "permessage-deflate (different payloads): not implemented yet, planned with the compression issue",
	"13": "permessage-deflate (different parameters): not implemented yet, planned with the compression issue",
}
