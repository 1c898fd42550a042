"""What the REST layer costs per request and reply body, kept small.

A VIOS with its vFC mappings is ~2 KiB of XML per mapping: 21 MB for a
VIOS with 10 000.  Two things around pypowervm's requests made each such
body cost more than its parse:

* requests decodes a reply whose Content-Type names no charset (the
  console's ``application/atom+xml``) by guessing the encoding over the
  whole body, and pypowervm reads ``Response.text`` twice per reply (once
  for a trace log call, once for the body it keeps): two guesses and two
  decodes of the whole body.  XML without a declared charset is UTF-8
  (RFC 7303; pypowervm's lxml refuses a ``str`` with an encoding
  declaration anyway), so it is said so: :func:`declare_encoding`.
* pypowervm's logging helper keeps, per thread, the last request and its
  reply whole (bodies included) to log them if the request fails; they
  stayed alive until the thread's next request, i.e. a feed read kept
  its body while the POSTs that followed parsed their replies.  Only the
  first :data:`DUMP_CHARS` of a body are ever logged
  (:class:`.console._ShortDump`), so only those are kept once the
  request is over: :func:`log_helper`.

And one in the way pypowervm updates a wrapper: the version POSTed stays
parsed until the reply, the VIOS as it now stands, is parsed and wrapped,
so two parsed copies of each VIOS a batch changes are alive at once:
:func:`update` lets the sent one go (:func:`release_helper`).
"""

import threading

from lxml import etree
from pypowervm import entities as pvm_ent
from pypowervm.helpers import log_helper as pvm_log

#: How much of one record of the logging helper's dump is logged.
DUMP_CHARS = 2048

_MORE = '... (%d more characters not logged)'


def declare_encoding(resp):
    """UTF-8 for an XML reply that names no charset; ``resp``."""
    if resp.encoding is None and 'xml' in resp.headers.get(
            'Content-Type', '').lower():
        resp.encoding = 'utf-8'
    return resp


def _short(text):
    if not isinstance(text, (str, bytes)) or len(text) <= DUMP_CHARS:
        return text
    if isinstance(text, bytes):
        text = text.decode('utf-8', 'replace')
    # Within DUMP_CHARS with its note, so the dump filter logs it as is.
    keep = DUMP_CHARS - len(_MORE % len(text))
    return text[:keep] + _MORE % (len(text) - keep)


def _trim(entry):
    request = entry.get('request')
    if isinstance(request, tuple) and len(request) == 2:
        args, kwds = request
        if _short(kwds.get('body')) is not kwds.get('body'):
            return {'request': (args, dict(kwds, body=_short(kwds['body'])))}
    response = entry.get('response')
    if isinstance(response, dict):
        cut = {key: _short(response.get(key)) for key in ('body', 'reqbody')
               if key in response}
        if any(cut[key] is not response[key] for key in cut):
            return {'response': dict(response, **cut)}
    return entry


def trim_thread_log():
    """Cut the bodies the logging helper keeps for this thread."""
    stash = getattr(pvm_log.log_store, 'powervm_log', None)
    for index, entry in enumerate(list(stash or ())):
        short = _trim(entry)
        if short is not entry:
            stash[index] = short


def log_helper(func, max_logs=1):
    """pypowervm's logging helper (``max_logs`` requests), keeping only the
    start of the bodies once a request is over.

    The helper logs a failed request and its reply from inside the call,
    whole (cut when written by the dump filter); what it keeps afterwards
    serves only a later failure, which pushes its own request and reply
    first.
    """
    logged = pvm_log.log_helper(func, max_logs=max_logs)

    def request(*args, **kwargs):
        try:
            return logged(*args, **kwargs)
        finally:
            trim_thread_log()

    return request


_POSTING = threading.local()


def update(wrapper):
    """``wrapper.update()``, letting go of the version POSTed once it is
    sent; the wrapper of the reply.

    The reply is the VIOS as it now stands: holding the version sent while
    the reply is received and parsed would only have two parsed copies of
    a large VIOS alive at once (~12 KiB per mapping each).
    :func:`release_helper`, in the adapter's helper stack, drops it when
    the serialised body goes out.  If the update fails, the body sent is
    parsed back into the wrapper, so callers see what they saw before.
    """
    entry, adapter = wrapper.entry, wrapper.adapter
    _POSTING.entry, _POSTING.body = entry, None
    try:
        return wrapper.update()
    except Exception:
        if entry.element is None and _POSTING.body is not None:
            entry.element = pvm_ent.Element.wrapelement(
                etree.fromstring(_POSTING.body), adapter)
        raise
    finally:
        _POSTING.entry = _POSTING.body = None


def release_helper(func):
    """Adapter helper: the POST of :func:`update` drops its entry's
    document once the body is serialised (the body holds it all)."""

    def request(method, path, **kwds):
        entry = getattr(_POSTING, 'entry', None)
        if method == 'POST' and entry is not None and kwds.get('body'):
            _POSTING.entry, _POSTING.body = None, kwds['body']
            entry.element = None
        return func(method, path, **kwds)

    return request
