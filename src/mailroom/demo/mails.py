"""The demo mailbox: about twenty realistic mails in Spanish and English (pure data)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

DEMO_DOMAIN = "demo.mailroom.test"

# (from name, from address, subject, body, extra headers)
SEED: list[tuple[str, str, str, str, dict[str, str]]] = [
    ("Lucía Fernández", "lucia.fernandez@correo.test", "Solicitud de suscripción al boletín",
     "Hola,\n\nme gustaría recibir vuestro boletín mensual. ¿Podéis darme de alta?\n\nGracias,\nLucía", {}),
    ("Mark Evans", "mark.evans@example.org", "Subscription request",
     "Hi there,\n\nPlease add me to your weekly newsletter.\n\nCheers,\nMark", {}),
    ("Jorge Ruiz", "jorge.ruiz@empresa.test", "SUSCRIPCION newsletter",
     "Buenos días, quiero suscribirme a las novedades de producto.\nSaludos", {}),
    ("Priya Natarajan", "priya@startup.example", "Newsletter subscription please",
     "Hello, I'd like to subscribe to product updates. Thank you!", {}),
    ("Ana Gómez", "ana.gomez@correo.test", "Re: suscripción",
     "Hola de nuevo, confirmo que quiero la suscripción con este correo.", {}),
    ("Tom Becker", "tom.becker@example.net", "Question about my invoice #4821",
     "Hello,\n\nI was charged twice for March. Could someone look into invoice #4821?\n\nTom", {}),
    ("Marta López", "marta.lopez@correo.test", "Problema con mi pedido",
     "Hola, mi pedido 99812 llegó dañado. ¿Cómo gestiono la devolución?\nMarta", {}),
    ("Olivia Chen", "olivia.chen@example.com", "Partnership proposal",
     "Hi team,\n\nWe run a logistics platform and would love to explore a partnership.\n\nBest,\nOlivia", {}),
    ("Pablo Martín", "pablo.martin@empresa.test", "Consulta sobre precios",
     "Buenas tardes, ¿tenéis descuentos para organizaciones sin ánimo de lucro?", {}),
    ("Grace Okafor", "grace.okafor@example.org", "Cannot log in to my account",
     "Hi, since yesterday the password reset link does not work for me. Please help.", {}),
    ("Sofía Herrera", "sofia.herrera@correo.test", "Darme de baja",
     "Por favor, dadme de baja de todas las comunicaciones. Gracias.", {}),
    ("James Wright", "james.wright@example.com", "Unsubscribe me",
     "Please stop sending me emails. Thanks.", {}),
    ("Carmen Díaz", "carmen.diaz@correo.test", "Suscripción para mi equipo",
     "Hola, ¿podéis suscribir también a mi equipo? Somos cinco personas.", {}),
    ("Noah Kim", "noah.kim@example.net", "Feedback on the new dashboard",
     "The new dashboard is great, but the export button is hard to find.", {}),
    ("Elena Vidal", "elena.vidal@empresa.test", "Factura duplicada",
     "Hola, he recibido dos facturas iguales este mes. ¿Me lo podéis revisar?", {}),
    ("Liam O'Connor", "liam.oconnor@example.org", "Re: Subscription",
     "Following up: I still want the subscription to the monthly digest.", {}),
    ("Isabel Romero", "isabel.romero@correo.test", "Quiero suscribirme",
     "Hola, quiero la suscripción al boletín semanal, por favor.", {}),
    ("Ethan Brooks", "ethan.brooks@example.com", "Job application",
     "Hello, attached is my CV for the support engineer role.", {}),
    ("Out of Office", "laura.perez@correo.test", "Respuesta automática: Suscripción",
     "Estoy fuera de la oficina hasta el lunes.",
     {"Auto-Submitted": "auto-replied", "X-Auto-Response-Suppress": "All"}),
    ("Mail Delivery System", "MAILER-DAEMON@mx.example.net", "Undelivered Mail Returned to Sender",
     "This is the mail system. Your message could not be delivered.",
     {"Auto-Submitted": "auto-generated"}),
]


def seed_messages(now: datetime | None = None) -> list[bytes]:
    """The demo mails as RFC 5322 bytes, newest last."""
    now = now or datetime.now(UTC)
    out: list[bytes] = []
    for i, (name, addr, subject, body, extra) in enumerate(SEED):
        msg = EmailMessage()
        msg["From"] = f"{name} <{addr}>"
        msg["To"] = f"Support <support@{DEMO_DOMAIN}>"
        msg["Subject"] = subject
        msg["Date"] = format_datetime(now - timedelta(minutes=len(SEED) - i))
        msg["Message-ID"] = make_msgid(idstring=f"demo{i}", domain=addr.split("@")[1])
        for header, value in extra.items():
            msg[header] = value
        msg.set_content(body)
        out.append(msg.as_bytes())
    return out
