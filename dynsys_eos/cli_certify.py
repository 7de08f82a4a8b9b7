"""``dynsys-eos certify`` and ``dynsys-eos check``: interval certificates on the command line.

``certify KIND MODEL ... --out CERT.json`` (KIND: orbit, flip, threshold,
cascade, interval) proves a claim and writes the certificate; exit 0 when
proved, 1 when the claim could not be proved (the file is still written and
says so).  ``check CERT.json`` re-proves it from the file alone: exit 0 and
one line ``VALID: ...`` when it proves its claim, 1 with the reason otherwise
(``INVALID: ...`` for a file whose proofs do not hold), 2 for a file that is unreadable or not a certificate.
"""

from .errors import ParameterError

__all__ = ["register"]

KINDS = ("orbit", "flip", "threshold", "cascade", "interval")


def register(sub):
    from .cli import _model_arguments

    p = sub.add_parser("certify", help="prove an orbit, flip, threshold, cascade or parameter interval; "
                                       "write a certificate (JSON)")
    p.add_argument("kind", choices=KINDS, help="what to prove")
    _model_arguments(p)
    p.add_argument("--period", type=int, default=1, help="period of the orbit (default 1)")
    p.add_argument("--vary", metavar="NAME", help="flip, cascade, interval: the parameter")
    p.add_argument("--start", metavar="VALUE", help="flip, cascade: where to start looking (default: the model's value)")
    p.add_argument("--from", dest="low", metavar="A", help="interval: lower end (exact)")
    p.add_argument("--to", dest="high", metavar="B", help="interval: upper end; flip, cascade: a bound")
    p.add_argument("--guess", metavar="V1,V2,...", help="a state near the orbit")
    p.add_argument("--at", metavar="V1,V2,...", help="threshold: the exact minimum (default: the flattest)")
    p.add_argument("--flips", type=int, default=8, help="cascade: how many flips (default 8)")
    p.add_argument("--backend", default="auto", choices=("auto", "flint", "iv"), help="ball arithmetic (default auto)")
    p.add_argument("--out", metavar="CERT.json", help="write the certificate here")
    p.set_defaults(run=cmd_certify)

    p = sub.add_parser("check", help="re-prove a certificate from its file alone")
    p.add_argument("path", metavar="CERT.json")
    p.add_argument("--backend", default="auto", choices=("auto", "flint", "iv"), help="ball arithmetic (default auto)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_check)


_DESTINATIONS = {"--vary": "vary", "--from": "low", "--to": "high"}


def _require(args, *flags):
    for flag in flags:
        if getattr(args, _DESTINATIONS[flag]) is None:
            raise ParameterError(f"certify {args.kind} needs {flag}")


def cmd_certify(args):
    from .certify import (CertifyOptions, certify_cascade, certify_flip, certify_interval, certify_orbit,
                          certify_threshold)
    from .cli import _check_writable, _guess, resolve_map
    from .parse import parse_vector

    if args.out:
        _check_writable("--out", args.out)
    if args.period < 1:
        raise ParameterError(f"--period must be at least 1, got {args.period}")
    if args.flips < 1:
        raise ParameterError(f"--flips must be at least 1, got {args.flips}")
    if args.dps < 10:
        raise ParameterError(f"certify needs --dps of at least 10, got {args.dps}")
    options = CertifyOptions(dps=args.dps, backend=args.backend)
    map_ = resolve_map(args, require_all=args.kind in ("orbit",))
    kind = args.kind
    if kind == "orbit":
        cert = certify_orbit(map_, args.period, _guess(args, map_, prefer_minimum=args.period == 1), options=options)
    elif kind == "threshold":
        at = list(parse_vector(args.at)) if args.at else None
        cert = certify_threshold(map_, at, options=options)
    elif kind == "interval":
        _require(args, "--vary", "--from", "--to")
        guess = _guess(args, map_, prefer_minimum=args.period == 1)
        cert = certify_interval(map_, args.period, args.vary, args.low, args.high, guess, options=options)
    else:
        _require(args, "--vary")
        values = map_.parameter_values()
        if args.vary not in values:
            raise ParameterError(f"--vary {args.vary}: no such parameter; valid: {', '.join(map_.parameter_names)}")
        from .values import exact_value

        start = exact_value(args.start, "--start") if args.start is not None else values[args.vary]
        stop = exact_value(args.high, "--to") if args.high is not None else None
        guess = _guess(args, map_, prefer_minimum=args.period == 1)
        if kind == "flip":
            cert = certify_flip(map_, args.period, args.vary, start, guess, options=options, stop=stop)
        else:
            cert = certify_cascade(map_, args.period, args.vary, start, guess, flips=args.flips, options=options,
                                   stop=stop)
    if args.out:
        cert.write(args.out)
    if args.json:
        return cert.to_dict(), cert.proved
    lines = [cert.summary()]
    for key, value in cert.results.items():
        if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
            lines.append(f"  {key} in {value[0]} +- {value[1]}  (certified enclosure)")
    if kind == "cascade":
        for claim, results in zip(cert.claim["flips"], cert.results.get("flips", [])):
            if "parameter" in results:
                mid, rad = results["parameter"]
                lines.append(f"  period {claim['period']:>5d}: {claim['parameter']} in {mid} +- {rad}, "
                             f"c in {results['coefficient'][0][:12]}... ({claim.get('criticality')})")
    if kind == "orbit" and cert.boxes:
        n = map_.dimension
        for i, (mid, rad) in enumerate(cert.boxes["enclosure"][:6]):
            lines.append(f"  x{i // n}[{i % n}] in {mid} +- {rad}")
    lines.append(f"  {cert.seconds:.2f} s; " + (f"written to {args.out}" if args.out else "not written (give --out)"))
    return "\n".join(lines), cert.proved


def cmd_check(args):
    from .certify import Certificate, check
    from .errors import CertificationError

    try:
        certificate = Certificate.read(args.path)
    except CertificationError as exc:  # unreadable or not a certificate: the user's file, not a failed proof
        raise ParameterError(str(exc)) from None
    verdict = check(certificate, backend=args.backend)
    if args.json:
        return {"valid": verdict.valid, "proves": verdict.proves, "message": verdict.message,
                "seconds": round(verdict.seconds, 4)}, verdict.proves
    return f"{verdict.message} ({verdict.seconds:.2f} s)", verdict.proves
