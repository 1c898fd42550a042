"""Plain-text tables for terminals and logs (no colour, no dependencies)."""


def render(headers, rows):
    cells = [[str(c) if c is not None else '-' for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    line = '  '.join('%-*s' % (w, h) for w, h in zip(widths, headers,
                                                      strict=True))
    out = [line.rstrip(), '  '.join('-' * w for w in widths)]
    for row in cells:
        out.append('  '.join('%-*s' % (w, c)
                             for w, c in zip(widths, row,
                                             strict=True)).rstrip())
    if not cells:
        out.append('(none)')
    return '\n'.join(out)


MAPPING_HEADERS = ['system', 'vios', 'vfchost', 'port', 'fabric',
                   'client partition', 'wwpns', 'logged in']


def mapping_rows(mappings):
    rows = []
    for m in sorted(mappings, key=lambda m: (m.system, m.vios, m.vfchost or
                                             '')):
        client = m.client_lpar_name or ('id %s' % m.client_lpar_id)
        rows.append([m.system, m.vios, m.vfchost,
                     '%s %s' % (m.port_name or '-', m.port_wwpn or ''),
                     m.fabric, client, ' '.join(m.wwpns) or '-',
                     m.logged_in])
    return rows


def mapping_dicts(mappings):
    keys = ['system', 'vios', 'vfchost', 'port_name', 'port_wwpn', 'fabric',
            'client_lpar_id', 'client_lpar_name', 'client_lpar_uuid',
            'client_slot', 'wwpns', 'logged_in']
    return [{k: (list(getattr(m, k)) if k == 'wwpns' else getattr(m, k))
             for k in keys} for m in mappings]
