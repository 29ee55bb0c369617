"""Write the starter training data (src/mailroom/data/starter.jsonl) and train the starter model.

The data is generated from hand-written phrasings in Spanish and English for three
intents: ``subscription`` (asks to join a list, newsletter or service), ``unsubscription``
(asks to leave one) and ``other`` (everything else a support mailbox receives). Phrases are
combined with greetings, sign-offs and subjects by a seeded random generator, so the file
is reproducible: ``python scripts/make_starter_data.py`` rewrites the same lines.

Usage: python scripts/make_starter_data.py [--no-train]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "src" / "mailroom" / "data"
PER_LABEL_AND_LANGUAGE = 96

GREETINGS = {
    "es": ["Hola,", "Buenos días,", "Buenas tardes,", "Estimados señores:", "Hola equipo,", "Saludos,", ""],
    "en": ["Hi,", "Hello,", "Good morning,", "Dear team,", "Hi there,", "To whom it may concern,", ""],
}
SIGNOFFS = {
    "es": ["Gracias.", "Un saludo,\nMaría", "Saludos cordiales,\nJuan Pérez", "Muchas gracias de antemano.",
           "Atentamente,\nLucía Fernández", "Quedo a la espera.", ""],
    "en": ["Thanks.", "Best regards,\nJohn", "Kind regards,\nEmily Clark", "Thank you in advance.",
           "Cheers,\nSam", "Looking forward to hearing from you.", ""],
}
THINGS = {
    "es": ["el boletín", "la newsletter", "el boletín semanal", "las novedades", "la lista de correo",
           "las ofertas por correo", "el servicio premium", "el plan mensual", "la revista digital",
           "los avisos de nuevos productos"],
    "en": ["the newsletter", "your mailing list", "the weekly digest", "product updates",
           "the monthly bulletin", "your email offers", "the premium plan", "the magazine",
           "release announcements", "the members' list"],
}
INTENTS: dict[str, dict[str, list[str]]] = {
    "subscription": {
        "es": ["Quiero suscribirme a {thing}.", "Me gustaría darme de alta en {thing}.",
               "¿Podéis apuntarme a {thing}? Mi correo es este mismo.",
               "Por favor, añadid mi dirección a {thing}.",
               "Deseo recibir {thing} en este correo.", "Solicito el alta en {thing}, gracias.",
               "Me interesa suscribirme a {thing}, ¿cómo lo hago?",
               "Quisiera apuntarme a {thing} para estar al día.",
               "Os escribo para darme de alta en {thing}.",
               "Inscribidme en {thing}, por favor.", "Quiero empezar a recibir {thing}.",
               "¿Me podéis dar de alta en {thing}? Lo vi en vuestra web."],
        "en": ["I would like to subscribe to {thing}.", "Please sign me up for {thing}.",
               "Could you add my address to {thing}?", "I want to join {thing}.",
               "Please add me to {thing}, I'd love to get it.",
               "How do I subscribe to {thing}? Please enroll this address.",
               "I'd like to start receiving {thing}.", "Sign me up to {thing}, please.",
               "I'm writing to request a subscription to {thing}.",
               "Please register this email for {thing}.", "Count me in for {thing}!",
               "I saw {thing} on your site and would like to be added."],
    },
    "unsubscription": {
        "es": ["Quiero darme de baja de {thing}.", "Por favor, eliminad mi dirección de {thing}.",
               "No quiero recibir más {thing}.", "Dadme de baja de {thing} inmediatamente.",
               "Solicito la baja de {thing}.", "Cancelad mi suscripción a {thing}, por favor.",
               "Dejad de enviarme {thing}.", "Ya no me interesa {thing}; borradme de la lista.",
               "¿Cómo me doy de baja de {thing}?", "Quiero anular mi suscripción a {thing}.",
               "Retirad mi correo de {thing}, gracias.", "Baja de {thing}, por favor."],
        "en": ["Please unsubscribe me from {thing}.", "Remove my address from {thing}.",
               "I no longer want to receive {thing}.", "Stop sending me {thing}.",
               "Cancel my subscription to {thing}, please.", "Take me off {thing}.",
               "How do I unsubscribe from {thing}?", "Please opt me out of {thing}.",
               "I want to cancel {thing} effective immediately.",
               "Delete my email from {thing}, thanks.", "Unsubscribe this address from {thing}.",
               "I never asked for {thing}; please remove me."],
    },
    "other": {
        "es": ["Tengo un problema con la factura {n}: el importe no es correcto.",
               "¿Cuál es el horario de atención al cliente?", "Mi pedido {n} no ha llegado todavía.",
               "No puedo iniciar sesión en mi cuenta, ¿me podéis ayudar?",
               "Adjunto el presupuesto que me pedisteis para la reunión del jueves.",
               "¿Tenéis disponibilidad para una llamada la semana que viene?",
               "El producto llegó roto; quiero devolverlo.", "¿Hacéis envíos a Canarias?",
               "Quería confirmar la cita del día {n} a las diez.",
               "Os envío mi currículum para la oferta de empleo publicada.",
               "La aplicación se cierra al abrir el menú de ajustes.",
               "¿Podéis enviarme el certificado de retenciones del año pasado?",
               "Necesito cambiar la dirección de entrega del pedido {n}.",
               "Me han cobrado dos veces el mismo pedido.",
               "¿Cuánto tarda en tramitarse un reembolso?",
               "Queríamos proponeros una colaboración para el próximo evento.",
               "Me gustaría saber el precio de {thing}.", "Quisiera cambiar mi contraseña.",
               "Me gustaría pedir una factura a nombre de mi empresa.",
               "Quiero reservar una demostración del producto para mi equipo.",
               "¿Me podéis enviar más información sobre los precios?",
               "Quisiera hablar con alguien del departamento comercial.",
               "Me gustaría actualizar los datos de facturación.",
               "¿Ofrecéis descuentos para organizaciones sin ánimo de lucro?"],
        "en": ["I have a problem with invoice {n}: the amount is wrong.",
               "What are your customer service hours?", "My order {n} has not arrived yet.",
               "I can't log in to my account, can you help?",
               "Attached is the quote you asked for ahead of Thursday's meeting.",
               "Are you available for a call next week?", "The product arrived broken; I want to return it.",
               "Do you ship to Canada?", "Just confirming our appointment on the {n}th at ten.",
               "Please find my CV attached for the open position.",
               "The app crashes when I open the settings menu.",
               "Could you send me last year's tax statement?",
               "I need to change the delivery address for order {n}.",
               "I was charged twice for the same order.", "How long does a refund take?",
               "We'd like to propose a partnership for the upcoming event.",
               "I would like to know the price of {thing}.", "I'd like to change my password.",
               "I would like an invoice in my company's name.",
               "I want to book a product demo for my team.",
               "Could you send me more information about your pricing?",
               "I'd like to speak to someone in sales.", "I would like to update my billing details.",
               "Do you offer discounts for non-profits?"],
    },
}
SUBJECTS = {
    "subscription": {"es": ["Alta", "Quiero recibir el boletín", "Petición de alta", "Información", ""],
                     "en": ["Sign up", "Joining the list", "Newsletter request", "Hello", ""]},
    "unsubscription": {"es": ["Baja", "Darme de baja", "No más correos", "Solicitud de baja", ""],
                       "en": ["Unsubscribe", "Remove me", "Stop emails", "Opt out", ""]},
    "other": {"es": ["Consulta", "Factura", "Pedido", "Problema con mi cuenta", "Reunión", "Duda", ""],
              "en": ["Question", "Invoice", "Order", "Problem with my account", "Meeting",
                     "Quick question", ""]},
}


def make_lines(seed: int = 4) -> list[dict[str, str]]:
    rng = random.Random(seed)
    lines = []
    for label, by_language in INTENTS.items():
        for language, phrases in by_language.items():
            for i in range(PER_LABEL_AND_LANGUAGE):
                phrase = phrases[i % len(phrases)].format(
                    thing=rng.choice(THINGS[language]), n=rng.randint(2, 99999))
                if rng.random() < 0.3 and label != "other":
                    phrase = phrase.lower()
                body = "\n\n".join(p for p in (rng.choice(GREETINGS[language]), phrase,
                                                rng.choice(SIGNOFFS[language])) if p)
                subject = rng.choice(SUBJECTS[label][language])
                lines.append({"text": f"{subject}\n{body}", "label": label, "language": language,
                              "group": f"{label}-{language}-{i % len(phrases)}"})
    rng.shuffle(lines)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-train", action="store_true", help="only write the data")
    args = parser.parse_args()
    lines = make_lines()
    DATA.mkdir(parents=True, exist_ok=True)
    out = DATA / "starter.jsonl"
    out.write_text("".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines), encoding="utf-8")
    print(f"wrote {len(lines)} lines to {out.relative_to(ROOT)}")
    if args.no_train:
        return 0
    sys.path.insert(0, str(ROOT / "src"))
    from mailroom.processor.training import train_starter_model

    model_path = DATA / "starter_model.joblib"
    model = train_starter_model(model_path)
    print(f"wrote {model_path.relative_to(ROOT)} ({model_path.stat().st_size} bytes), "
          f"version {model.version}, held-out metrics {json.dumps(model.metrics)}")
    write_doc(model.metrics, model.version, model_path.stat().st_size)
    return 0


def write_doc(metrics: dict[str, Any], version: str, size: int) -> None:
    """Put the held-out numbers into docs/classification.md between its markers."""
    begin, end = "<!-- starter-results:begin -->", "<!-- starter-results:end -->"
    doc = ROOT / "docs" / "classification.md"
    holdout = metrics["holdout"]
    rows = "\n".join(f"| {label} | {m['precision']:.4f} | {m['recall']:.4f} | {m['f1']:.4f} | "
                     f"{m['support']} |" for label, m in holdout["labels"].items())
    section = (f"{begin}\nVersion `{version}` ({size / 1000:.0f} kB), trained on "
               f"{metrics['trained_on']} lines; held-out split ({holdout['n']} lines, unseen "
               f"phrasings): accuracy {holdout['accuracy']:.4f}.\n\n"
               f"| label | precision | recall | F1 | support |\n|---|---:|---:|---:|---:|\n{rows}\n{end}")
    text = doc.read_text(encoding="utf-8")
    start, stop = text.index(begin), text.index(end) + len(end)
    doc.write_text(text[:start] + section + text[stop:], encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
