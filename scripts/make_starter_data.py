"""Generate the intent training data (src/mailroom/data/starter.jsonl.gz) from templates.

Three intents in Spanish and English: ``subscription`` (asks to join a list, newsletter
or service), ``unsubscription`` (asks to leave one or cancel) and ``other`` (everything
else a support mailbox receives, including mail that mentions a subscription without
asking for one: billing, renewals, delivery problems, prices).

Each mail is put together by a seeded random generator from hand-written parts: request
phrasings with slots (what to join, why, how to reach the sender), greetings, context
sentences, sign-offs, signatures (with and without the ``-- `` delimiter, legal
footers, "sent from my phone"), subjects (with the keyword, neutral, empty), quoted
threads under the request (Gmail, Outlook, Apple Mail, Thunderbird attributions, ">"
quoting), HTML-only bodies, subject-only mails, and noise (typos, dropped accents, lower
or upper case, txt-speak). The mail is built as a ``RawEmail`` and read with the same
``model_text`` the processor uses, so what the model trains on is what it will see.

The file is reproducible: the same seed writes the same lines. The shipped intent model
is trained on these lines plus real "other" mail from the SpamAssassin corpus (see
scripts/train_models.py); the independent test set in tests/data/ is NOT produced here.

Usage: python scripts/make_starter_data.py [--per-label N]
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mailroom.events import RawEmail  # noqa: E402
from mailroom.processor.text import SUBJECT_ONLY, model_text  # noqa: E402

DATA = ROOT / "src" / "mailroom" / "data"
OUT = DATA / "starter.jsonl.gz"
PER_LABEL_AND_LANGUAGE = 3500
OUR_ADDRESS = "info@mailroom.example"

Pick = Callable[[list[str]], str]

THINGS = {
    "es": ["el boletín", "la newsletter", "el boletín semanal", "las novedades", "la lista de correo",
           "las ofertas", "el club de socios", "la revista", "los avisos de nuevos productos",
           "las noticias", "el resumen mensual", "vuestras comunicaciones", "sus comunicaciones",
           "el programa de fidelización", "la lista de distribución", "las alertas de precio",
           "el newsletter", "los eventos", "la agenda cultural", "las promociones",
           "el canal de noticias", "los cursos", "el blog", "la comunidad"],
    "en": ["the newsletter", "your mailing list", "the weekly digest", "product updates",
           "the monthly bulletin", "your email offers", "the members' club", "the magazine",
           "release announcements", "your news", "the list", "your updates", "event invitations",
           "the loyalty programme", "price alerts", "the blog digest", "your promotions",
           "the community list", "the course announcements", "your emails", "the e-newsletter"],
}
WHY = {
    "es": ["Lo vi en vuestra web.", "Me lo recomendó una amiga.", "Os conocí en la feria.",
           "Me encantan vuestros productos.", "Soy cliente desde hace años.",
           "Me interesa mucho el tema.", "Acabo de mudarme a la zona.",
           "Estuve en vuestra charla del jueves.", "Un compañero me pasó el último número.",
           "Quiero estar al tanto de las novedades.", "Leí un artículo vuestro y me gustó.", ""],
    "en": ["I saw it on your website.", "A friend recommended it.", "We met at the trade fair.",
           "I love your products.", "I've been a customer for years.",
           "I'm really interested in the topic.", "I just moved to the area.",
           "I attended your talk last Thursday.", "A colleague forwarded me the last issue.",
           "I want to keep up with what's new.", "I read one of your articles and liked it.", ""],
}
WHY_LEAVE = {
    "es": ["Recibo demasiados correos.", "Ya no me interesa.", "Nunca me apunté.",
           "He cambiado de trabajo.", "Me llegan a la carpeta de spam.", "Es demasiado frecuente.",
           "Ya no uso este servicio.", "Me he mudado.", "Esta dirección la va a dejar de usar.", ""],
    "en": ["I get too many emails.", "I'm no longer interested.", "I never signed up.",
           "I changed jobs.", "They keep landing in spam.", "It's too frequent.",
           "I don't use the service anymore.", "I moved away.", "I'm retiring this address.", ""],
}
CONTACT = {
    "es": ["Mi correo es {email}.", "Podéis usar esta misma dirección.", "Mi nombre es {name}.",
           "Mi teléfono es {phone}.", "Soy {name}, de {city}.", "Número de cliente: {n}.", "",
           "Por favor, usen esta dirección de correo.", "Este correo me sirve.",
           "Pueden escribirme a esta dirección.", "Mi mail es este mismo."],
    "en": ["My email is {email}.", "You can use this address.", "My name is {name}.",
           "My phone number is {phone}.", "I'm {name} from {city}.", "Customer number: {n}.", "",
           "Please use this email address.", "This email is fine.", "Please send it to this address.",
           "Use this email, thanks."],
}
SUBSCRIBE = {
    "es": [
        "Quiero suscribirme a {thing}.", "Me gustaría suscribirme a {thing}.",
        "Quisiera darme de alta en {thing}.", "¿Me podéis dar de alta en {thing}?",
        "¿Podríais apuntarme a {thing}?", "Apuntadme a {thing}, por favor.", "Apúntame a {thing}.",
        "Por favor, añadid mi correo a {thing}.", "Agregadme a {thing}, gracias.",
        "Incluid mi dirección en {thing}.", "Deseo recibir {thing} en este correo.",
        "Solicito el alta en {thing}.", "Os pido que me inscribáis en {thing}.",
        "Me interesa recibir {thing}, ¿cómo lo hago?", "¿Cómo me suscribo a {thing}?",
        "¿Dónde me puedo apuntar a {thing}?", "Quiero empezar a recibir {thing}.",
        "Me encantaría recibir {thing}.", "Quiero formar parte de {thing}.",
        "Quiero unirme a {thing}.", "Cuenten conmigo para {thing}.",
        "Quisiera que me enviaran {thing} a este correo.", "Mandadme {thing} a partir de ahora.",
        "Me gustaría que me llegaran {thing}.", "Solicito la suscripción a {thing}.",
        "Quiero registrarme en {thing}.", "Deseo inscribirme en {thing}.",
        "Por favor, registren mi dirección para {thing}.",
        "Les escribo para solicitar el alta en {thing}.",
        "Tengo interés en recibir {thing} periódicamente.",
        "¿Sería posible recibir {thing}? Me haría ilusión.",
        "Me apunto a {thing}.", "Alta en {thing}, porfa.", "Quiero el alta en {thing}.",
        "Me podrían suscribir a {thing}?", "Ponedme en {thing}.",
        "Quiero suscribirme.", "Me gustaría darme de alta.", "Apuntadme, por favor.",
        "¿Cómo me apunto?", "Deseo suscribirme.", "Quiero recibir vuestras novedades.",
        "Quisiera recibir información periódica por correo.", "Dadme de alta, gracias.",
        "Quiero estar en vuestra lista.", "Me gustaría estar en la lista de envíos.",
        "Por favor, suscribanme.", "Hola, me quiero suscribir.",
        "Les ruego que me incluyan como destinataria de {thing}.",
        "Les agradecería que añadieran mi dirección a {thing}.",
        "¿Podéis mandarme a mí también {thing}?", "Enviadme {thing} a mí también, porfa.",
        "Quisiera que me llegara {thing} directamente a mí.", "¿Me podéis meter en {thing}?",
        "Solicitamos recibir {thing} en esta dirección.", "Nos gustaría recibir {thing}.",
        "¿Nos podéis poner en {thing}?", "¿Qué tengo que hacer para recibir {thing}?",
        "El formulario no me funciona, así que os pido que me deis de alta en {thing} a mano.",
        "Desearía recibir {thing} periódicamente.", "Ruego me den de alta como destinatario de {thing}.",
        "Me vendría genial recibir {thing}, ¿me apuntáis?", "Quiero que me llegue {thing}.",
        "Tengan a bien suscribirme a {thing}.", "Os pido que me suméis a {thing}.",
        "Me encantaría estar en {thing}.", "No quiero perderme {thing}, apuntadme.",
        "¿Puedo recibir yo también {thing} en este correo?", "Mandadme {thing}, porfi.",
    ],
    "en": [
        "I'd like to subscribe to {thing}.", "Please subscribe me to {thing}.",
        "Please sign me up for {thing}.", "Could you sign me up for {thing}?",
        "Can you add me to {thing}?", "Add me to {thing}, please.", "Please add my email to {thing}.",
        "Put me on {thing}, thanks.", "I want to join {thing}.", "I'd love to join {thing}.",
        "How do I subscribe to {thing}?", "Where can I sign up for {thing}?",
        "I'd like to start receiving {thing}.", "I want to receive {thing} at this address.",
        "Count me in for {thing}!", "Please enroll me in {thing}.", "Please register me for {thing}.",
        "Could you include my address in {thing}?", "I'm interested in joining {thing}.",
        "I would like a subscription to {thing}.", "Requesting a subscription to {thing}.",
        "Kindly add me to {thing}.", "Please opt me in to {thing}.", "Keep me posted via {thing}.",
        "Can I get on {thing}?", "I'd be grateful if you could add me to {thing}.",
        "I'm writing to ask to be added to {thing}.", "Would it be possible to receive {thing}?",
        "Pls add me to {thing}.", "Sign me up!", "Please subscribe me.", "I want to subscribe.",
        "I'd like to sign up.", "Add me please.", "How do I sign up?", "Please put me on the list.",
        "I'd like to receive your updates by email.", "Subscribe me, please.",
        "I'm keen to get your news by email.", "Please start sending me your newsletter.",
        "I want in on the mailing list.", "Could you add this address to your list?",
        "Please include me as a recipient of {thing}.", "I would appreciate receiving {thing}.",
        "I'd be grateful if you could add my address to {thing}.",
        "Could you send me {thing} too?", "Send me {thing} as well, please.",
        "Could you send {thing} to me directly?", "Can you put me on {thing}?",
        "We ask to receive {thing} at this address.", "We'd like to get {thing}.",
        "Could you put us on {thing}?", "What do I need to do to get {thing}?",
        "The form doesn't work for me, so could you add me to {thing} manually?",
        "I'd like to receive {thing} regularly.", "Kindly register me as a recipient of {thing}.",
        "I'd love to get {thing}, can you add me?", "I want {thing} in my inbox.",
        "I want to hear about everything in {thing}, sign me up.", "Can I get {thing} too?",
        "I don't want to miss {thing}, please add me.", "Get me on {thing}, please!",
        "I'd like to be subscribed to {thing}.", "I'd like you to send me {thing}.",
    ],
}
UNSUBSCRIBE = {
    "es": [
        "Quiero darme de baja de {thing}.", "Por favor, dadme de baja de {thing}.",
        "Solicito la baja de {thing}.", "Quiero cancelar mi suscripción a {thing}.",
        "Cancelad mi suscripción, por favor.", "Quiero anular mi suscripción.",
        "Eliminad mi correo de {thing}.", "Borradme de {thing}.", "Sacadme de {thing}.",
        "Quitad mi dirección de {thing}.", "No quiero recibir más {thing}.",
        "Dejad de enviarme {thing}.", "No me mandéis más {thing}.", "Dejen de escribirme.",
        "¿Cómo me doy de baja de {thing}?", "¿Cómo dejo de recibir {thing}?",
        "Ya no deseo recibir {thing}.", "Baja, por favor.", "Baja de {thing}.",
        "Quiero desuscribirme de {thing}.", "Quiero dejar de recibir {thing}.",
        "Revoco mi consentimiento para recibir {thing}.",
        "Ejerzo mi derecho de supresión: borrad mis datos de {thing}.",
        "No autorizo el envío de {thing} a esta dirección.",
        "Cancelar suscripción.", "Darme de baja del boletín.", "Cancelar mi suscripción.",
        "Quiero cancelar la suscripción que hice el mes pasado.",
        "Por favor, no me enviéis más correos.", "Basta de correos, gracias.",
        "Desapuntadme de {thing}.", "Quiero salir de {thing}.",
        "Me quiero dar de baja.", "Anulen mi alta en {thing}.",
        "No recuerdo haberme suscrito, quitadme de {thing}.",
        "Me desapunto de {thing}.", "Me quiero borrar de {thing}.",
        "Les ruego que no vuelvan a enviarme {thing}.", "Borrad mis datos y no me mandéis nada más.",
        "Os pido que me quitéis de {thing}.", "Por favor, dad de baja esta dirección.",
        "No sigáis enviándome {thing}.", "Ya no quiero seguir recibiendo {thing}.",
        "Dad de baja mi correo de {thing}, que ya no lo uso.",
        "El enlace para darse de baja no funciona, así que quitadme vosotros de {thing}.",
    ],
    "en": [
        "Please unsubscribe me from {thing}.", "I want to unsubscribe from {thing}.",
        "Unsubscribe me.", "Remove me from {thing}.", "Please remove my address from {thing}.",
        "Take me off {thing}.", "Stop sending me {thing}.", "Please stop emailing me.",
        "I no longer want to receive {thing}.", "Cancel my subscription to {thing}.",
        "Please cancel my subscription.", "I'd like to cancel my subscription.",
        "How do I unsubscribe from {thing}?", "How do I stop receiving {thing}?",
        "Please opt me out of {thing}.", "Delete my email from {thing}.",
        "I never signed up for {thing}, please remove me.", "Don't email me again.",
        "I'd like to end my subscription to {thing}.", "Please take this address off your list.",
        "I withdraw my consent to receive {thing}.", "Please erase my data from {thing} (GDPR).",
        "Unsubscribe.", "Remove.", "Stop.", "I want out of {thing}.",
        "Please don't send me {thing} anymore.", "Cancel subscription.",
        "I'd like to leave {thing}.", "Kindly remove me from {thing}.",
        "I want to cancel the subscription I started last month.",
        "Can you unsubscribe this email address?", "No more emails please.",
        "I'm unsubscribing from {thing}.", "I want to be removed from {thing}.",
        "Please do not send me {thing} again.", "Delete my data and don't send me anything else.",
        "Please take me off {thing}.", "Please remove this address.",
        "Don't keep sending me {thing}.", "I don't want to keep receiving {thing}.",
        "Please remove my address from {thing}, I no longer use it.",
        "The unsubscribe link is broken, so please remove me from {thing} yourselves.",
    ],
}
OTHER = {
    "es": [
        "Tengo un problema con la factura {n}: el importe no es correcto.",
        "¿Cuál es el horario de atención al cliente?", "Mi pedido {n} no ha llegado todavía.",
        "No puedo iniciar sesión en mi cuenta.", "Adjunto el presupuesto que me pedisteis.",
        "¿Tenéis disponibilidad para una llamada la semana que viene?",
        "El producto llegó roto y quiero devolverlo.", "¿Hacéis envíos a Canarias?",
        "Quería confirmar la cita del día {day} a las diez.",
        "Os envío mi currículum para la oferta de empleo.",
        "La aplicación se cierra al abrir los ajustes.", "¿Me enviáis el certificado de retenciones?",
        "Necesito cambiar la dirección de entrega del pedido {n}.",
        "Me han cobrado dos veces la suscripción este mes.",
        "¿Cuánto cuesta la suscripción anual?", "¿Cuándo se renueva mi suscripción?",
        "Quiero cambiar la forma de pago de mi suscripción.",
        "Necesito la factura de mi suscripción a nombre de la empresa.",
        "Esta semana no me ha llegado el boletín, ¿ha pasado algo?",
        "El enlace del último boletín no funciona.", "¿Puedo cambiar el correo de mi cuenta?",
        "Gracias por el boletín de ayer, muy interesante.",
        "¿La suscripción incluye acceso a la app?", "¿Tenéis descuento para estudiantes?",
        "Queríamos proponeros una colaboración para el próximo evento.",
        "Me gustaría saber el precio de {thing}.", "Quisiera cambiar mi contraseña.",
        "Quiero reservar una demostración del producto.",
        "¿Podéis enviarme más información sobre los precios?",
        "Quisiera hablar con alguien del departamento comercial.",
        "Me gustaría actualizar mis datos de facturación.", "¿Cuánto tarda un reembolso?",
        "Os escribo de parte de un medio para una entrevista.",
        "Tengo una queja sobre la atención recibida en la tienda.",
        "¿Dónde puedo descargar el manual?", "¿Seguís abiertos en agosto?",
        "Confirmo la asistencia a la reunión del martes.",
        "¿Podéis revisar el error en mi última factura?", "Os paso los datos que me pedisteis.",
        "Feliz año a todo el equipo.", "¿Me podéis llamar? Es urgente.",
        "He cambiado de dirección, actualizad mi ficha por favor.",
        "¿Aceptáis pagos con transferencia?", "La web da error al pagar.",
        "¿Renuevo la suscripción o se hace automáticamente?",
        "Mi suscripción caducó y quiero saber qué pasa con mis datos.",
        "¿Puedo regalar una suscripción a un amigo?",
        "Quiero que {thing} me llegue a otra dirección de correo.",
        "¿Podéis incluir nuestro anuncio en {thing}?", "Me suscribí pero no me llega {thing}.",
        "¿Puedo congelar la cuota unos meses?", "Quiero cambiar el plan de mi suscripción.",
        "¿{thing} sale cada semana o cada mes?", "He visto un error en {thing} de ayer.",
        "Mi compañera ya no trabaja aquí, ¿a quién le escribo?",
        "¿Dónde veo el historial de pagos de la suscripción?",
    ],
    "en": [
        "I have a problem with invoice {n}: the amount is wrong.",
        "What are your customer service hours?", "My order {n} hasn't arrived yet.",
        "I can't log in to my account.", "Attached is the quote you asked for.",
        "Are you available for a call next week?", "The product arrived broken; I want a refund.",
        "Do you ship to Canada?", "Just confirming our appointment on the {day}th.",
        "Please find my CV attached for the open position.", "The app crashes on the settings page.",
        "Could you send me last year's tax statement?",
        "I need to change the delivery address for order {n}.",
        "I was charged twice for my subscription this month.",
        "How much does the annual subscription cost?", "When does my subscription renew?",
        "I want to change the payment method for my subscription.",
        "I need an invoice for my subscription in my company's name.",
        "I didn't get the newsletter this week, is something wrong?",
        "The link in your last newsletter is broken.", "Can I change the email on my account?",
        "Thanks for yesterday's newsletter, really interesting.",
        "Does the subscription include app access?", "Do you have a student discount?",
        "We'd like to propose a partnership for the upcoming event.",
        "I'd like to know the price of {thing}.", "I'd like to change my password.",
        "I want to book a product demo.", "Could you send me more information about pricing?",
        "I'd like to speak to someone in sales.", "I'd like to update my billing details.",
        "How long does a refund take?", "I'm a journalist and would like an interview.",
        "I have a complaint about the service at your store.", "Where can I download the manual?",
        "Are you open in August?", "I confirm I'll attend Tuesday's meeting.",
        "Could you check the error on my last invoice?", "Here is the information you asked for.",
        "Happy new year to the whole team.", "Can you call me? It's urgent.",
        "I've moved, please update my record.", "Do you accept bank transfers?",
        "The website fails at checkout.", "Do I renew my subscription or is it automatic?",
        "My subscription expired, what happens to my data?", "Can I gift a subscription to a friend?",
        "I want {thing} to go to a different email address.",
        "Could you include our announcement in {thing}?", "I subscribed but {thing} never arrives.",
        "Can I freeze my membership for a few months?", "I want to change my subscription plan.",
        "Does {thing} come out weekly or monthly?", "I spotted a mistake in yesterday's {thing}.",
        "My colleague has left, who should I write to now?",
        "Where can I see the payment history of my subscription?",
    ],
}
STORY = {
    "es": ["El otro día estuve en vuestra tienda del centro comprando un regalo.",
           "Os sigo en redes desde hace tiempo.", "Soy profesor de secundaria en un instituto de Cuenca.",
           "Perdonad las horas, estoy escribiendo desde el móvil.",
           "Mi marido y yo somos socios desde hace tres años.",
           "Estuve leyendo vuestro blog y me pareció muy interesante.",
           "Vivo fuera de España pero compro a menudo en vuestra web.",
           "Una compañera de trabajo me habló de vosotros.", "La semana pasada fui a vuestra charla.",
           "Os escribo en nombre de la asociación de vecinos.",
           "Llevo años comprando en vuestra web y estoy muy contento.",
           "El pedido llegó bien, todo perfecto.", "Gracias por la información del otro día.",
           "Soy investigadora en la universidad y sigo vuestro trabajo.",
           "Mi hija hizo el curso de verano con vosotros y le encantó.",
           "No sé si este es el correo correcto, pero lo intento.",
           "Perdonad si ya os lo pregunté antes.", "Entendido, iré el jueves entonces.",
           "Vale, gracias por avisar.", "Os escribo desde Valparaíso.", "Ya sé que es tarde."],
    "en": ["The other day I was at your city centre store buying a present.",
           "I've followed you on social media for a while.", "I'm a secondary school teacher in Leeds.",
           "Sorry for the late hour, I'm typing this on my phone.",
           "My husband and I have been members for three years.",
           "I was reading your blog and found it really interesting.",
           "I live abroad but often buy from your website.",
           "A colleague at work told me about you.", "I went to your talk last week.",
           "I'm writing on behalf of the residents' association.",
           "I've been buying from your website for years and I'm very happy.",
           "The order arrived fine, all perfect.", "Thanks for the information the other day.",
           "I'm a researcher at the university and follow your work.",
           "My daughter did your summer course and loved it.",
           "Not sure this is the right address, but here goes.",
           "Sorry if I already asked this before.", "Got it, I'll come on Thursday then.",
           "OK, thanks for letting me know.", "I'm writing from Valparaíso.", "I know it's late."],
}
CONTEXT_OTHER = {
    "es": ["Os escribo por lo siguiente.", "Espero que estéis bien.", "Perdonad la molestia.",
           "Es la segunda vez que escribo.", "Os lo comento por si acaso.", ""],
    "en": ["I'm writing about the following.", "Hope you're well.", "Sorry to bother you.",
           "This is my second email about this.", "Just flagging this.", ""],
}
GREETINGS = {
    "es": ["Hola,", "Hola:", "Buenos días,", "Buenas tardes,", "Estimados señores:", "Hola equipo,",
           "Buenas,", "Hola {first},", "Muy señores míos:", "Saludos,", "A quien corresponda:", ""],
    "en": ["Hi,", "Hello,", "Good morning,", "Dear team,", "Hi there,", "To whom it may concern,",
           "Hey,", "Hi {first},", "Dear Sir or Madam,", "Greetings,", "Hello team,", ""],
}
SIGNOFFS = {
    "es": ["Gracias.", "Un saludo,", "Saludos cordiales,", "Muchas gracias de antemano.",
           "Atentamente,", "Quedo a la espera.", "Un abrazo,", "Gracias de antemano,", "Saludos", ""],
    "en": ["Thanks.", "Best regards,", "Kind regards,", "Thank you in advance.", "Cheers,",
           "Looking forward to hearing from you.", "Thanks!", "Regards,", "Best,", ""],
}
NAMES = ["María García", "Juan Pérez", "Lucía Fernández", "Carlos Ruiz", "Ana López", "Pablo Sanz",
         "John Smith", "Emily Clark", "Sam Taylor", "Laura Jones", "David Brown", "Olivia Wilson",
         "Javier Moreno", "Sofía Navarro", "Peter Miller", "Grace Lee"]
CITIES = ["Madrid", "Sevilla", "Bilbao", "Valencia", "London", "Leeds", "Boston", "Dublin", "Lima"]
COMPANIES = ["Acme S.L.", "Talleres Norte", "Blue Harbour Ltd", "Greenfield Inc.",
             "Consultora Delta", "Northwind Traders"]
DISCLAIMER = {
    "es": "AVISO LEGAL: Este mensaje y sus anexos son confidenciales y se dirigen exclusivamente "
          "a su destinatario. Si lo ha recibido por error, comuníquelo al remitente y bórrelo.",
    "en": "CONFIDENTIALITY NOTICE: This email and any attachments are confidential and intended "
          "solely for the addressee. If you received it in error, please notify the sender.",
}
PHONE_SENT = {"es": ["Enviado desde mi iPhone", "Enviado desde mi móvil"],
              "en": ["Sent from my iPhone", "Sent from my Android phone"]}
SUBJECTS = {
    "subscription": {
        "es": ["Suscripción", "suscripcion", "Solicitud de suscripción", "Alta", "Alta boletín",
               "Quiero recibir el boletín", "Petición de alta", "Newsletter", "Apuntarme", "Boletín"],
        "en": ["Subscription", "subscription request", "Subscribe", "Sign up", "Newsletter",
               "Joining the list", "Newsletter sign-up", "Mailing list", "Add me", "Subscribe me"],
    },
    "unsubscription": {
        "es": ["Baja", "Darme de baja", "Cancelar suscripción", "Cancelar mi suscripción",
               "Baja suscripción", "No más correos", "Solicitud de baja", "Anular suscripción",
               "Darme de baja del boletín", "Eliminar mis datos"],
        "en": ["Unsubscribe", "Cancel subscription", "Cancel my subscription", "Remove me",
               "Stop emails", "Opt out", "Unsubscribe request", "Subscription cancellation",
               "End subscription", "Please remove"],
    },
    "other": {
        "es": ["Consulta", "Factura", "Pedido", "Problema con mi cuenta", "Reunión", "Duda",
               "Suscripción", "Mi suscripción", "Cobro suscripción", "Boletín", "Presupuesto",
               "Información", "Urgente", "Devolución"],
        "en": ["Question", "Invoice", "Order", "Problem with my account", "Meeting",
               "Quick question", "Subscription", "My subscription", "Subscription billing",
               "Newsletter", "Quote", "Information", "Urgent", "Refund"],
    },
}
# other mail about a subscription says so in its subject too ("Duda sobre mi suscripción")
SUBJECTS["other"]["es"] += [f"{what} {about} {whose} {thing}" for what in ("Problema", "Duda",
         "Incidencia", "Pregunta")
                            for about in ("con", "sobre") for whose in ("mi", "la")
                            for thing in ("suscripción", "cuenta")] + [
    "Alta proveedor nuevo", "Alta de usuario", "Registro de empresa", "Alta médica",
    "Renovación suscripción", "Cargo duplicado", "Factura de la suscripción", "No me llega el boletín",
    "Boletín de ayer", "Error en la newsletter", "Cambio de plan", "Precio de la suscripción"]
SUBJECTS["other"]["en"] += [f"{what} {about} {whose} {thing}" for what in ("Problem", "Question", "Issue",
         "Query")
                            for about in ("with", "about") for whose in ("my", "the")
                            for thing in ("subscription", "account")] + [
    "New supplier registration", "User sign-up problem", "Company registration", "Account registration",
    "Subscription renewal", "Double charge", "Subscription invoice", "Newsletter not arriving",
    "Yesterday's newsletter", "Error in the newsletter", "Plan change", "Subscription price"]
NEUTRAL_SUBJECTS = {
    "es": ["Hola", "Contacto desde la web", "Consulta", "Información", "Una pregunta", "(sin asunto)",
           "Mensaje", "Formulario de contacto", "Re: hola", "Buenos días", "Petición", ""],
    "en": ["Hello", "Contact form", "Question", "Information", "A question", "(no subject)",
           "Message", "Website enquiry", "Re: hello", "Hi", "Request", ""],
}
QUOTED = {
    "es": ["Gracias por contactar con nosotros. Le responderemos lo antes posible.",
           "Te enviamos el resumen de novedades de este mes. Para darte de baja pulsa aquí.",
           "¿Quieres recibir nuestras ofertas? Suscríbete en la web.",
           "Le confirmamos que su pedido ha sido enviado.",
           "Te recordamos que tu suscripción se renueva el día 1.",
           "Hola, ¿al final te apuntas o no?"],
    "en": ["Thanks for contacting us. We will reply as soon as possible.",
           "Here is this month's round-up. To unsubscribe click here.",
           "Want our offers? Subscribe on the website.",
           "We confirm your order has shipped.",
           "A reminder that your subscription renews on the 1st.",
           "Hi, are you joining the list or not?"],
}
TXT_SPEAK = {"es": [("por favor", "porfa"), ("por favor", "x fa"), ("que", "q"), ("gracias", "grax"),
                    ("también", "tb"), ("por", "x")],
             "en": [("please", "pls"), ("please", "plz"), ("you", "u"), ("thanks", "thx"),
                    ("your", "ur"), ("to", "2")]}


# Request grammar: phrasing families composed from parts, so the model learns the shape
# of a request (who asks, for whom, how politely, with what verb), not a list of sentences.
# Each family is a product of parts; a seeded sample of each keeps the data balanced.

EXTRA_THINGS = {
    "es": ["las circulares informativas", "el correo mensual con consejos", "los correos de novedades",
           "el boletín de la asociación", "las noticias de la peña", "el resumen semanal de artículos",
           "los avisos de cursos nuevos", "la revista digital", "el boletín de ofertas",
           "las lecturas del club", "la lista de difusión", "el envío mensual", "los avisos por email"],
    "en": ["your monthly email with tips", "those update emails", "the weekly email with new posts",
           "the trade news distribution list", "the digital magazine", "the book club emails",
           "your circulars", "the members' bulletin", "the course alerts", "the weekly roundup",
           "the mailing", "your email updates", "the announcements list"],
}
ON_BEHALF = {
    "es": ["mi madre", "mi mujer", "mi marido", "mi jefe", "mi compañera", "mi hijo", "mi socio",
           "una amiga", "la secretaria del club", "nuestro departamento"],
    "en": ["my mother", "my wife", "my husband", "my boss", "my colleague", "my son", "my business partner",
           "a friend of mine", "our club secretary", "our department"],
}
LEADS = {
    "es": ["Otra cosa:", "Por cierto,", "Ah, y", "Y ya de paso,", "PD:", "Además,", "Aprovecho para deciros:",
           "Una cosa más:", "Por otro lado,", "Y otra cosa,",
           "Hola de nuevo,", "Sobre lo que os escribí,"],
    "en": ["Also,", "Oh, and", "One more thing:", "By the way,", "PS:", "And while I'm at it,", "Btw,",
           "Another thing:", "Quick one:", "On another note,",
           "Following up:", "Just following up,"],
}
# (question/ask opener, verb phrase with the object) families, English
EN_ASK = ["Could you", "Can you", "Would you", "Could you please", "Can you please", "Would you kindly",
          "Please", "Pls", "Kindly", "I was wondering if you could", "Any chance you could",
          "Would you be able to", "Is it possible to", "I'd appreciate it if you could"]
EN_ACT = ["add {who} to {thing}", "include {who} in {thing}", "put {who} on {thing}",
          "sign {who} up for {thing}", "subscribe {who} to {thing}", "enrol {who} in {thing}",
          "register {who} for {thing}", "get {who} on {thing}", "stick {who} on {thing}",
          "add {who} as a recipient of {thing}", "start sending {thing} to {who}",
          "send {thing} to {who} too", "sign {who} up to {thing}", "opt {who} in to {thing}"]
EN_WHO = ["me", "my address", "my email", "this address", "this email address", "us", "{email}",
          "my colleague {email}", "my wife", "our office", "my team", "my work email", "{name}"]
EN_WANT = ["I want", "I need", "I'd like", "I'd love", "I would really like", "I wanna", "I still want",
           "We'd like", "I'd really like to get", "I'd like to get", "I want to get", "Really want",
           "I'd like to start getting", "I'd love to receive", "I want to keep getting", "I'm keen to get",
           "Would love to get", "I'd like to be getting"]
EN_DEST = ["in my inbox", "by email", "sent to me", "every week", "at this address", "", "from now on",
           "too", "as well", "please", "sent to this email", "each month", "whenever it comes out"]
EN_SEND = ["Send me", "Please send me", "Could you send me", "Can you email me", "Please email me",
           "Can I get", "Could I get", "Can you start sending me", "Start sending me", "Feel free to send me",
           "I'd like you to send me", "Pls send me", "Please forward me", "Go ahead and send me",
           "Keep me in the loop with", "Please mail me", "Drop me", "I'd be happy to receive"]
EN_RECUR = ["", "whenever it comes out", "every month", "each time there's a new issue", "from now on",
            "regularly", "whenever applications open", "when there's news", "every week",
            "as they come out", "going forward"]
EN_JOIN = ["I'm joining", "I'd like to join", "I'm signing up for", "I want to sign up for", "Signing up for",
           "Subscribing to", "Joining", "I'm in for", "Count me in for", "I'd like to be on",
           "I want to be on", "I'd like to be part of", "I'm requesting to join",
           "Please consider this my request to join",
           "This is a request to subscribe to", "Request to join", "I'd like to register for",
           "I want in on", "I'd like a spot on", "Put my name down for", "I'd like to enrol in",
           "I'm writing to request that {email} be added to", "I'm writing to ask you to add me to",
           "I would like to request a subscription to", "I hereby request to be added to",
           "I request inclusion in", "Please accept my registration for",
           "I'd like to be subscribed to", "I want to be subscribed to", "I'd like to be signed up for",
           "I'd like to be added to", "I wish to subscribe to", "I wish to receive", "I hereby subscribe to"]
EN_FOUND = ["Just found out you have {thing}", "omg just saw you have {thing}", "Didn't know you had {thing}",
            "My friend showed me {thing}", "I keep hearing about {thing}",
            "Just saw {thing} mentioned online",
            "Someone forwarded me {thing}", "I read {thing} at my neighbour's"]
EN_THEN = ["I need it in my inbox!", "sign me up!", "I want it!", "put me down for it.", "I want in.",
           "please add me.", "can I get it too?", "how do I get it? Add me please.", "send it my way!",
           "I'd love to get it too.", "count me in."]
EN_BEHALF = ["{rel} would like to receive {thing}, could you add {email}?",
             "{rel} wants to join {thing}; her address is {email}.",
             "Please add {rel} to {thing}: {email}.", "Could you sign {rel} up for {thing}? {email}",
             "I'm writing for {rel}, who'd like to get {thing} at {email}.",
             "On behalf of {rel}, please subscribe {email} to {thing}.",
             "On behalf of our association, we request to receive {thing} at this address.",
             "Our team would like {thing} sent to {email}."]

ES_ASK_INF = ["¿Me podéis", "¿Me podríais", "¿Me pueden", "¿Me podrían", "¿Me podés", "¿Me puedes",
              "Por favor, ¿me podéis", "¿Sería posible", "¿Les importaría", "¿Os importaría"]
# (infinitive with the object pronoun slot "me", with the preposition), used after the openers
ES_INF = ["apuntar a {thing}", "incluir en {thing}", "dar de alta en {thing}", "añadir a {thing}",
          "agregar a {thing}", "anotar en {thing}", "enviar {thing}", "mandar {thing}", "suscribir a {thing}",
          "inscribir en {thing}", "sumar a {thing}", "meter en {thing}", "poner en {thing}",
          "empezar a mandar {thing}", "hacer llegar {thing}", "registrar en {thing}"]
ES_SUBJ_PAST = ["incluyeran en {thing}", "apuntaran a {thing}", "dieran de alta en {thing}",
                "enviaran {thing}", "agregaran a {thing}", "anotaran en {thing}", "mandaran {thing}",
                "suscribieran a {thing}", "añadieran a {thing}", "hicieran llegar {thing}"]
ES_SUBJ_PAST_OPEN = ["Les agradecería que me", "Os agradecería que me", "Quisiera que me",
                     "Me gustaría que me",
                     "Querría que me", "Agradecería que me", "Les pediría que me", "Sería un placer que me"]
ES_SUBJ_PRES = ["incluyan en {thing}", "apunten a {thing}", "den de alta en {thing}", "envíen {thing}",
                "agreguen a {thing}", "anoten en {thing}", "manden {thing}", "suscriban a {thing}",
                "añadan a {thing}", "inscriban en {thing}"]
ES_SUBJ_PRES_OPEN = ["Ruego me", "Les ruego que me", "Solicito que me", "Pido que me", "Os pido que me",
                     "Quiero que me", "Necesito que me", "Por favor, que me"]
ES_IMPER = ["Apuntadme a {thing}", "Añadidme a {thing}", "Incluidme en {thing}", "Dadme de alta en {thing}",
            "Metedme en {thing}", "Suscribidme a {thing}", "Mandadme {thing}", "Enviadme {thing}",
            "Apúnteme a {thing}", "Inclúyame en {thing}", "Deme de alta en {thing}", "Suscríbame a {thing}",
            "Envíeme {thing}", "Apúntenme a {thing}", "Inclúyanme en {thing}", "Denme de alta en {thing}",
            "Agréguenme a {thing}", "Envíenme {thing}", "Mándenme {thing}", "Suscríbanme a {thing}",
            "Anótenme en {thing}", "Súmenme a {thing}", "Apúntame a {thing}", "Añádeme a {thing}",
            "Inclúyeme en {thing}", "Mándame {thing}", "Agrégame a {thing}", "Anótame en {thing}",
            "Anotame en {thing}", "Sumame a {thing}", "Agregame a {thing}", "Mandame {thing}"]
ES_TAIL = ["", ", por favor", ", porfa", ", gracias", " cuando podáis", ", se lo agradecería",
           " a este correo", ", porfis", " de ahora en adelante", ", que no me entero de nada"]
ES_WANT = ["Quiero recibir", "Quisiera recibir", "Me gustaría recibir", "Necesito recibir",
           "Me encantaría recibir", "Quería recibir", "Sigo queriendo recibir", "Quiero empezar a recibir",
           "Deseo recibir", "Nos gustaría recibir", "Querría recibir", "Me interesaría recibir",
           "Quiero tener", "Quiero que me llegue", "Me gustaría que me llegara", "Me haría ilusión recibir",
           "Estaría encantada de recibir", "Me vendría bien recibir", "Quiero seguir recibiendo"]
ES_DEST = ["en mi correo", "por correo", "en este correo", "en mi email", "cada mes", "",
           "de ahora en adelante", "a partir de ahora", "directamente", "cada semana", "en casa",
           "cuando salga", "en mi bandeja de entrada"]
ES_JOIN = ["Me apunto a", "Quiero apuntarme a", "Me quiero apuntar a", "Quiero anotarme en", "Me anoto en",
           "Me sumo a", "Quiero sumarme a", "Quiero entrar en", "Quisiera inscribirme en",
           "Solicito unirme a",
           "Solicito mi inclusión en", "Solicito que se incluya {email} en",
           "Les escribo para que me incluyan en",
           "Escribo para pedir el alta en", "Pido el alta en", "Quiero formar parte de", "Me uno a",
           "Por la presente solicito la suscripción a", "Mediante este correo solicito el alta en",
           "Quisiera darme de alta en", "Me gustaría anotarme en", "Deseo que me incluyan en",
           "Quisiera estar suscrita a", "Quiero estar suscrito a", "Me gustaría estar apuntada a",
           "Quiero estar dado de alta en", "Solicito mi inscripción en", "Solicito el registro en",
           "Por medio de la presente solicito el alta en", "Deseo suscribirme a"]
ES_FOUND = ["Acabo de ver que tenéis {thing}", "No sabía que teníais {thing}", "Me enseñó una amiga {thing}",
            "Una prima me reenvía {thing}", "Vi {thing} en casa de mi vecina",
            "Me han hablado muy bien de {thing}",
            "Acabo de descubrir {thing}", "Un compañero me pasa siempre {thing}"]
ES_THEN = ["¡lo quiero!", "¡apuntadme!", "quiero recibirlo yo también.", "¿me lo podéis mandar a mí?",
           "¿podrían enviármelo directamente?", "apúntenme, por favor.", "¡quiero estar!",
           "¿cómo lo recibo yo? Apuntadme.", "mandádmelo a mí también.", "me encantaría recibirlo."]
ES_BEHALF = ["{rel} quiere recibir {thing}, su correo es {email}.",
             "¿Podéis apuntar a {rel} a {thing}? Su correo: {email}.",
             "Os escribo de parte de {rel}, que quiere darse de alta en {thing} ({email}).",
             "Por favor, añadan a {rel} a {thing}: {email}.",
             "En nombre de {rel}, solicito que incluyan {email} en {thing}.",
             "En nombre de la asociación, solicitamos recibir {thing} en esta dirección.",
             "Querríamos que {thing} llegara también a {email}.",
             "¿Pueden dar de alta a {rel} en {thing}? Es {email}."]

GLUE = {
    "es": [", así que os escribo directamente: ", ", así que ", " y ", ", pero ", "; ", " - ", ", por eso ",
           ", y aprovecho: ", ", en fin, "],
    "en": [", so I'm writing directly: ", ", so ", " and ", ", but ", "; ", " - ", ", which is why ",
           ", and while I'm here: ", ", anyway, "],
}
SUBJECT_TEMPLATES = {
    "subscription": {"es": ["Suscripción a {thing}", "Alta en {thing}", "Suscripción {thing}",
                     "Apuntarme a {thing}",
                            "Inscripción en {thing}", "Quiero {thing}", "Solicitud de alta: {thing}"],
                     "en": ["Subscription to {thing}", "Subscribe to {thing}", "Sign-up: {thing}",
                            "Joining {thing}",
                            "Subscription request: {thing}", "Add me to {thing}", "Signing up for {thing}"]},
    "unsubscription": {"es": ["Baja de {thing}", "Cancelar {thing}", "Darme de baja de {thing}",
                       "Borrarme de {thing}",
                              "Cancelar suscripción a {thing}", "No más {thing}"],
                       "en": ["Unsubscribe from {thing}", "Cancel {thing}", "Remove me from {thing}",
                              "Stop {thing}",
                              "Cancel subscription to {thing}", "No more {thing}"]},
}
CONFIRM = {  # a second mail in a thread: yes, I (still) want it
    "es": ["Confirmo que quiero {sub}.", "Sí, quiero {sub}.", "Os confirmo que sigo queriendo {sub}.",
           "Confirmo que quiero {sub} con este correo.", "Sí, sigo interesada en {sub}.",
           "Te confirmo: quiero {sub}.", "Confirmado, quiero {sub}.", "Que sí, que quiero {sub}."],
    "en": ["I confirm I want {sub}.", "Yes, I want {sub}.", "Confirming I still want {sub}.",
           "Yes please, I'd like {sub}.", "I still want {sub}.",
           "Just confirming: I want {sub} at this address.",
           "Yes, I'm still interested in {sub}.", "Confirmed, I'd like {sub}."],
}
CONFIRM_WHAT = {"es": ["la suscripción", "la suscripción a {thing}", "recibir {thing}", "el alta en {thing}",
                       "la suscripción con este correo", "estar en {thing}"],
                "en": ["the subscription", "the subscription to {thing}", "to receive {thing}",
                       "to join {thing}",
                       "to be on {thing}", "the sign-up for {thing}"]}
# "keep me informed": a request to hear about something again and again is a subscription;
# the same words about one order or one claim are not (see INFORMED_ONCE)
INFORMED = {
    "es": ["Mantenedme informado de {news}", "Tenedme al tanto de {news}", "Avisadme de {news}",
           "Me gustaría estar informada de {news}", "Quisiera que me tuvieran al corriente de {news}",
           "Avísenme de {news}", "Manténganme informado de {news}",
           "Me interesaría que me avisarais de {news}",
           "Incluidme en los próximos envíos sobre {news}", "¿Me podéis ir avisando de {news}?",
           "Quiero enterarme de {news} por correo"],
    "en": ["Please keep me informed about {news}", "Keep me posted on {news}", "Please notify me of {news}",
           "I'd like to be kept up to date with {news}", "Let me know about {news} from now on",
           "Could you keep me in the loop about {news}?", "I'd be interested in hearing about {news}",
           "Please include me in future mailings about {news}", "I'd like to hear from you about {news}",
           "Please email me about {news}", "I'd be interested in receiving news of {news}"],
}
NEWS = {"es": ["las novedades", "los próximos cursos", "cada nuevo número", "las próximas actividades",
               "las ofertas de cada mes", "los nuevos productos", "vuestros eventos", "cualquier novedad"],
        "en": ["new courses", "upcoming events", "every new issue", "future activities",
               "each month's offers",
               "new products", "your events", "anything new"]}
INFORMED_ONCE = {
    "es": ["Mantenedme informado del estado de mi pedido {n}", "Avisadme cuando llegue el pedido {n}",
           "Tenedme al tanto de mi reclamación", "Avísenme cuando esté lista la factura",
           "Quisiera que me tuvieran al corriente de la devolución", "¿Me avisáis cuando tengáis stock?",
           "Avisadme cuando se solucione la incidencia"],
    "en": ["Please keep me informed about my order {n}", "Let me know when order {n} ships",
           "Keep me posted on my complaint", "Please notify me when the invoice is ready",
           "Keep me updated on my refund", "Could you tell me when it's back in stock?",
           "Let me know when the issue is fixed"],
}
TERSE = {
    "es": ["Apúntame", "apuntame porfa", "Me apunto", "Alta porfa", "Quiero el boletín",
           "Me suscribo", "Suscribidme", "Altaa", "Dadme de alta ya", "apuntadme!!", "Yo me apunto!",
           "Me interesa, apúntame", "Anotame", "Sumame", "Quiero recibirlo", "Suscríbanme porfa",
           "Alta en la lista", "Quiero suscribirme ya", "Me apuntáis?", "Inscríbanme"],
    "en": ["Sign me up", "add me pls", "Subscribe pls", "Count me in", "I'm in!",
           "Me too, sign me up", "Add me!!", "Subscribe me", "Put me down", "I want in", "sub me pls",
           "Yes please, add me", "Want it, sign me up", "Add me to the list pls", "Sign me up asap",
           "Id like to sign up", "Can I join?", "Enrol me", "Register me pls", "Opt me in"],
}
PRONOUN = {  # the thing was named in an earlier sentence
    "es": ["¿Podrían enviármelo directamente a mí?", "¿Me lo podéis mandar a mí también?",
           "¿Me apuntáis a mí también?", "Quiero recibirlo yo también.", "¿Cómo hago para recibirlo yo?",
           "Así que os escribo por aquí para que me apuntéis.",
           "Os escribo para que me deis de alta vosotros.",
           "¿Me lo podrían enviar cada mes?", "Me encantaría recibirlo en mi correo.",
           "Si es así, me encantaría recibirlo.", "Si sigue existiendo, apuntadme.",
           "Si es verdad, quiero estar en la lista."],
    "en": ["Could you send it to me directly?", "Can you add me to it too?", "Could I get it as well?",
           "Can you put me on it?", "So I'm emailing to ask you to add me instead.",
           "Could you sign me up by hand?", "I'd love to get it every month.",
           "How do I get it myself? Add me please.",
           "I'd like it in my own inbox.", "If so, I'd love to be on it.",
           "If that's the case, I'd like to get it.",
           "If that's true, please add me.", "If it still exists, sign me up."],
}
ES_OBJ_OPEN = ["Les solicito que incluyan", "Ruego incluyan", "Les pido que añadan",
               "Solicito que den de alta",
               "Os pido que apuntéis", "Les agradecería que incluyeran", "Agradecería que registraran",
               "Por favor, incluyan", "Por favor, añadid"]
ES_OBJ = ["mi dirección", "mi correo", "mi correo electrónico", "este correo", "mi email", "esta dirección",
          "la dirección {email}"]
ES_OBJ_TO = ["en {thing}", "en la lista de destinatarios de {thing}",
             "en la relación de destinatarios de {thing}",
             "en su base de datos para recibir {thing}", "en el envío de {thing}"]
EN_OBJ_OPEN = ["I request that you add", "Please add", "Kindly include", "I'd ask you to add",
               "Could you register", "We request that you include", "Please enter"]
EN_OBJ = ["my address", "my email", "my email address", "this address", "{email}"]
EN_OBJ_TO = ["to {thing}", "to the recipients of {thing}", "in the distribution of {thing}",
             "to your database for {thing}", "to the mailing list for {thing}"]
EN_UNSUB_FORMAL = ["I hereby request the cancellation of my registration to {thing}",
                   "I request the cancellation of my subscription to {thing}",
                   "I request that my address be removed from {thing}",
                   "Please process the cancellation of my registration to {thing}",
                   "I wish to cancel my registration to {thing}", "I wish to unsubscribe from {thing}",
                   "I hereby withdraw from {thing}", "I request to be removed from {thing}",
                   "Please terminate my subscription to {thing}", "I would like to deregister from {thing}"]
ES_UNSUB_FORMAL = ["Por la presente solicito la cancelación de mi registro en {thing}",
                   "Solicito la cancelación de mi suscripción a {thing}",
                   "Solicito que mi dirección sea eliminada de {thing}",
                   "Les ruego tramiten la baja de mi correo en {thing}",
                   "Deseo cancelar mi inscripción en {thing}", "Solicito ser excluido de {thing}",
                   "Mediante este correo solicito la baja de {thing}",
                   "Les solicito que retiren mi dirección de {thing}",
                   "Ruego anulen mi registro en {thing}", "Quisiera darme de baja de {thing}"]

# cancellations: leave, stop, remove my address
EN_UNSUB_ASK = ["Please", "Could you", "Can you", "Kindly", "I'd appreciate it if you could", "Would you",
                "Pls", "I'd be grateful if you would", "I'm asking you to", "Could you please"]
EN_UNSUB_ACT = ["remove {who} from {thing}", "take {who} off {thing}", "delete {who} from {thing}",
                "unsubscribe {who} from {thing}", "drop {who} from {thing}", "stop sending {thing} to {who}",
                "opt {who} out of {thing}", "cancel {who} from {thing}", "take {who} off your list",
                "remove {who}", "unsubscribe {who}", "erase {who} from {thing}", "strike {who} from {thing}"]
EN_UNSUB_WHO = ["me", "my address", "my email", "this address", "this email address", "us", "{email}",
                "my colleague {email}", "my email address", "our office"]
EN_UNSUB_PLAIN = ["I don't want to receive {thing} anymore", "I no longer wish to receive {thing}",
                  "I'd like my address removed from {thing}", "No more {thing}, please",
                  "I don't want {thing} any more", "Stop sending me {thing}", "I'm done with {thing}",
                  "I want my email taken off {thing}", "Enough of {thing}, please unsubscribe me",
                  "I'd like to stop getting {thing}", "Please no more emails", "I want off {thing}",
                  "Get me off {thing}", "I want to leave {thing}", "I do not want to get {thing} again",
                  "Remove my address", "remove me pls", "unsub", "stop emailing me",
                  "{rel} no longer wants {thing}, please remove {email}"]
ES_UNSUB_INF = ["sacar de {thing}", "quitar de {thing}", "dar de baja de {thing}", "borrar de {thing}",
                "eliminar de {thing}", "retirar de {thing}", "excluir de {thing}", "desuscribir de {thing}",
                "desapuntar de {thing}"]
ES_UNSUB_SUBJ = ["Les agradecería que retiraran mi correo de {thing}", "Retiren mi dirección de {thing}",
                 "Les ruego que retiren mi correo de {thing}", "Por favor, retirar mi correo de la lista",
                 "Sáquenme de {thing}", "Sacadme de la lista", "Por favor, sacarme de la lista",
                 "Quiten mi correo de {thing}", "Eliminen mi email de {thing}", "Bórrenme de {thing}",
                 "Desuscríbanme de {thing}", "Dejen de mandarme {thing}", "Ya no me manden {thing}",
                 "¿Me podés dar de baja de {thing}?", "Darme de baja, por favor",
                 "No quiero recibir más {thing}",
                 "No quiero recibir más correos", "No deseo seguir recibiendo {thing}",
                 "No me interesa recibir más {thing}",
                 "Agradecería que me quitaran de {thing}", "Quisiera que me sacaran de {thing}",
                 "Quiero que retiren mi correo de {thing}", "Basta de {thing}, quitadme",
                 "Sacame de la lista porfa",
                 "No me manden más nada", "Retirar mi correo de {thing}, gracias",
                 "Quiero salirme de {thing}",
                 "{rel} ya no quiere recibir {thing}, borren {email}", "Eliminar mi dirección de {thing}",
                 "Solicito que retiren {email} de {thing}", "Dejad de enviar {thing} a esta dirección"]

# near misses: the same verbs and politeness about something that is not a list
EN_OTHER_NEAR = ["Could you add the VAT number to invoice {n}?",
                 "Please include my order number {n} on the invoice.",
                 "Can you put me through to sales?", "Please send me the invoice for order {n}.",
                 "Could you send me a quote for {n} units?", "Can you email me the contract?",
                 "I need the manual in PDF, can you send it?", "Please add my new address to order {n}.",
                 "Could you remove the extra item from order {n}?",
                 "Please sign me in for the Tuesday meeting.",
                 "I'm joining the call at ten.", "My wife receives {thing} and really likes it.",
                 "I've been subscribed for months but {thing} stopped arriving.",
                 "I'm already on {thing} but I get it twice.", "Can I change the email where I get {thing}?",
                 "Could you send me information about your prices?", "Send me the tracking number, please.",
                 "I want a refund for order {n}.", "I need a copy of my last invoice.",
                 "Please update the billing address on my subscription.", "Is {thing} free?",
                 "I got {thing} today and one link is broken.", "Who writes {thing}? Great work.",
                 "Can you resend yesterday's issue of {thing}? It went to spam.",
                 "Please find attached the supplier registration form.",
                 "How do I add a new user to the platform?",
                 "I need to register my product for the warranty.",
                 "I signed up for an account but can't log in.",
                 "Is registration for the summer camp still open?",
                 "Attached is our company registration form.",
                 "I'd like to know when my subscription renews.", "Please confirm you received my payment."]
ES_OTHER_NEAR = ["¿Podéis añadir el CIF a la factura {n}?",
                 "Por favor, incluid el número de pedido {n} en la factura.",
                 "¿Me pasáis con el departamento comercial?",
                 "Por favor, enviadme la factura del pedido {n}.",
                 "¿Me podéis mandar un presupuesto para {n} unidades?", "¿Me enviáis el contrato por correo?",
                 "Necesito el manual en PDF, ¿me lo mandáis?",
                 "Añadid mi nueva dirección al pedido {n}, por favor.",
                 "¿Podéis quitar el artículo de más del pedido {n}?", "Apuntadme para la reunión del martes.",
                 "Me uno a la llamada a las diez.", "Mi mujer recibe {thing} y le gusta mucho.",
                 "Estoy suscrito desde hace meses pero {thing} ha dejado de llegar.",
                 "Ya recibo {thing} pero me llega repetido.",
                 "¿Puedo cambiar el correo donde recibo {thing}?",
                 "¿Me podéis enviar información sobre precios?",
                 "Mandadme el número de seguimiento, por favor.",
                 "Quiero que me devolváis el dinero del pedido {n}.",
                 "Necesito una copia de la última factura.",
                 "Actualizad la dirección de facturación de mi suscripción.", "¿{thing} es gratis?",
                 "Hoy me ha llegado {thing} y un enlace no funciona.", "¿Quién escribe {thing}? Muy bueno.",
                 "¿Me reenviáis {thing} de ayer? Se fue a spam.",
                 "Quisiera saber cuándo se renueva mi suscripción.",
                 "Confirmadme que habéis recibido el pago, por favor.",
                 # "alta", "registro", "inscripción" that are not a list: suppliers, users, leave, warranty
                 "Adjunto la ficha de alta como proveedor.",
                 "¿Cómo doy de alta a un nuevo usuario en la plataforma?",
                 "Ya me han dado el alta médica, vuelvo el lunes.",
                 "Necesito dar de alta un producto nuevo en la tienda.",
                 "Hemos tramitado el alta del trabajador en la Seguridad Social.",
                 "El alta de la línea de teléfono sigue pendiente.",
                 "Os mando el registro de la garantía del equipo.",
                 "¿Sigue abierta la inscripción para el campamento de verano?",
                 "Adjunto el formulario de registro de empresa."]


# kinds of mail a second hand-written set showed the model had not seen (added as kinds, with
# slots; see docs/classification.md): terse and emphatic requests, "email me whenever ...",
# formal "se tramite mi alta", several addresses, "you said I could get on your list" ...
SUBSCRIBE_MORE = {
    "es": ["Me suscribo!", "Suscribirme, porfa.", "{thing} porfa", "Quiero {thing}, gracias.",
           "Por medio de la presente solicito que se tramite mi alta en {thing}.",
           "Me dirijo a ustedes para pedirles que me hagan llegar {thing} de forma periódica.",
           "Les rogamos que den de alta las siguientes direcciones en {thing}: {email} y {email}.",
           "Deseamos suscribir a nuestro departamento ({email}) a {thing}.",
           "En nombre de nuestra asociación solicitamos la suscripción a {thing}.",
           "¿Mandan {thing}? Lo quiero recibir.", "¿Tenéis {thing}? Me gustaría recibirlo.",
           "Avisenme por mail cuando haya ofertas, porfa.", "Me encantaría que me avisaran de {thing}.",
           "Quiero que me lleguen los correos de {thing}.", "Me pasas {thing} a este mail?",
           "En la feria me dijeron que escribiera aquí para entrar en {thing}, así que aquí estoy.",
           "Confirmo que deseo figurar en {thing}.", "Quiero estar al día: mándenme {thing}.",
           "Por favor agreguen a mis compañeros {email} y {email} a {thing}.",
           "Sí, quiero recibir {thing}. Mi correo es este mismo.", "Cuenten conmigo, mándenme {thing}."],
    "en": ["Just subscribing!", "Subscribe.", "SUBSCRIBE", "{thing} pls", "Newsletter please!",
           "I am writing to request a subscription to {thing}.",
           "I confirm that I should like to be added to {thing}.",
           "I would appreciate being included in future mailings about {thing}.",
           "You said I could get on your list by emailing here, so here I am!",
           "Do you send out {thing}? I'd love to get it.", "Do y'all have {thing}? I wanna receive it.",
           "Please email me whenever you have sales!", "Would love to get {thing}.",
           "Please add the following people to {thing}: {email} and {email}.",
           "We would like to subscribe our purchasing team ({email}) to {thing}.",
           "On behalf of our library, we request a subscription to {thing}.",
           "Keep me in the loop: please send me {thing}.", "Yes please, count me in for {thing}.",
           "Please add both me and {email} to {thing}.", "I'd like to be on {thing}, this address is fine.",
           "Let me know by email whenever there's a new issue of {thing}."],
}
UNSUBSCRIBE_MORE = {
    "es": ["Solicito que esta dirección deje de recibir {thing}.",
           "Me suscribí por error, ¿me pueden borrar?",
           "Dejé la empresa, por favor quiten este correo de {thing}.",
           "Esta dirección ya no pertenece a {name}; elimínenla de {thing}.",
           "Ejerzo mi derecho de oposición: eliminen mi correo de su lista de distribución.",
           "Basta de correos, sáquenme de esta lista.", "Ya no necesito {thing}, quiten mi correo.",
           "Pausen mi suscripción a {thing}, por favor.", "desuscribime porfa",
           "{rel} falleció y sigue recibiendo {thing}; por favor, den de baja {email}."],
    "en": ["Please cease sending marketing communications to this address.",
           "I request that this address no longer receive {thing}.",
           "This address no longer belongs to {name}. Please delete it from your mailing list.",
           "Enough with the emails, get me off this list.", "I subscribed by mistake, can you remove me?",
           "Please pause my subscription to {thing}.", "I don't want to stay subscribed any more.",
           "I ask that you do not send any further emails to this address.",
           "{rel} passed away and still gets {thing}; please remove {email}.",
           "I left the company, please take this address off {thing}."],
}
OTHER_MORE = {  # name the list or the keyword without asking to join or leave it
    "es": ["¡Gracias por suscribirte a {thing}! Tu suscripción ya está activa.",
           "¡Bienvenido! Este es un mensaje automático, no respondas a este correo.",
           "¡Felicidades por llegar a los {n} suscriptores!",
           "Os adjunto el informe mensual de suscripciones: {n} altas y {day} bajas.",
           "¿Cada cuánto enviáis {thing}? Quiero saberlo antes de decidirme.",
           "¿Están publicados los números anteriores de {thing} en la web?",
           "El botón de suscribirse de la web no hace nada.", "El formulario de alta da error.",
           "Estoy suscrita a {thing} y mi abuela también lo lee, solo quería contarlo.",
           "Se convoca a todos los socios a la junta general del día {day}.",
           "Si me suscribo ahora, ¿recibo el número de diciembre?",
           "Nos gustaría anunciar nuestra marca en {thing} para sus suscriptores.",
           "¡Consigue {n} suscriptores nuevos en una semana con nuestra herramienta!",
           "No me interesa el boletín, necesito hablar con ventas.",
           "Os reenvío la confirmación que me llegó: mi suscripción a {thing} está confirmada.",
           "Me he mudado: enviad la revista a mi nueva dirección, calle Mayor {day}.",
           "¿Puedo pausar la suscripción mientras estoy fuera?",
           "Nunca me suscribí, ¿de dónde sacaron mi correo?",
           "Me di de baja y me siguen cobrando la suscripción.",
           "No quiero suscribirme, solo quería saber el horario del taller.",
           "¿La suscripción se paga al mes o al año?", "Les di de alta a mis alumnos en la plataforma ayer.",
           "Ya estoy suscrito a {thing}, pero me llega a spam.",
           "¿Me confirmáis si estoy suscrito a {thing}?",
           "Os dejo mi crítica del último número de {thing}: me encantó.",
           "Estamos preparando nuestro propio boletín, ¿nos recomendáis una herramienta?",
           # one-off papers "by email" (a single send is not a list), statements, forwards
           "Necesito el certificado de retenciones para la renta. ¿Me lo pueden enviar por correo?",
           "Para la hipoteca necesito mi última nómina, ¿me la mandáis por email?",
           "¿Me podéis enviar por correo el justificante del pago {n}?",
           "Soy suscriptora desde hace años y solo quería deciros que {thing} es lo mejor del mes.",
           "Te reenvío {thing} de la Cámara de Comercio, échale un vistazo antes de la reunión.",
           "Informe semanal del boletín: {n} suscriptores, {day} altas y {day} bajas.",
           "Mi vecino también está suscrito y dice que {thing} llega tarde."],
    "en": ["Thanks for subscribing to {thing}! Your subscription is now active.",
           "Welcome aboard! This is an automated message, please do not reply.",
           "Congratulations on reaching {n} subscribers!",
           "Attached is the monthly subscriber report: {n} new sign-ups and {day} cancellations.",
           "How often do you send {thing}? I'd like to know before deciding.",
           "Are past issues of {thing} on the website? I'd like to read the last one.",
           "The subscribe button on your site doesn't do anything.", "The sign-up form gives an error.",
           "I'm subscribed to {thing} and my grandma reads it too, just wanted to share.",
           "All members are invited to the annual general meeting on the {day}th.",
           "If I subscribe now, do I get the December issue?",
           "We'd love to feature our brand in {thing} for your subscribers.",
           "Get {n} new subscribers in a week with our growth tool!",
           "Not interested in the newsletter, I need to speak to sales.",
           "Forwarding the confirmation I got: my subscription to {thing} is confirmed.",
           "I've moved: please send the magazine to my new address, {day} High Street.",
           "Can I pause my subscription while I'm away?", "I never subscribed, where did you get my email?",
           "I cancelled and you still charge me for the subscription.",
           "I don't want to subscribe, I just want to know the workshop times.",
           "Is the subscription billed monthly or yearly?",
           "I signed my students up on the platform yesterday.",
           "I'm already subscribed to {thing} but it goes to spam.",
           "Can you confirm whether I'm subscribed to {thing}?",
           "Here's my review of the last issue of {thing}: loved it.",
           "We're starting our own newsletter, can you recommend a tool?",
           "I need my P60 for a mortgage application. Could you email it to me?",
           "I need last month's payslip, can you send it to me by email?",
           "Could you email me the receipt for payment {n}?",
           "I've been a subscriber for years and just wanted to say {thing} is the best thing in my inbox.",
           "Forwarding {thing} from the Chamber of Commerce, have a look before the meeting.",
           "Weekly newsletter report: {n} subscribers, {day} sign-ups and {day} unsubscribes.",
           "My neighbour is subscribed too and says {thing} arrives late."],
}
# kinds the second independent set's misses showed (formal noun-phrase requests, institutions,
# "leave my email so you send me", existing subscribers' questions, adverts in the bulletin)
SUBSCRIBE_MORE2 = {
    "es": ["Por medio del presente solicito mi suscripción a {thing}.",
           "Por la presente solicito la suscripción a {thing} para mi empresa.",
           "Solicitamos la suscripción a {thing}, en formato electrónico, para nuestro departamento.",
           "La biblioteca solicita la suscripción institucional a {thing}.",
           "Les escribo para formalizar la suscripción a {thing}.",
           "Os escribo para suscribirme a {thing}.", "Sí, suscríbeme, gracias.",
           "¿Me pueden suscribir ustedes a {thing}? El botón no me funciona.",
           "¿Podrían agregarme a su lista de correo para recibir {thing}?",
           "Me dijeron en la feria que dejara mi correo para recibir {thing}: aquí lo tienen.",
           "Quisiera darme de alta en {thing}, les dejo mi correo.", "alta porfa",
           "Me gustaría empezar a recibir {thing} por correo."],
    "en": ["I hereby request a subscription to {thing}.",
           "We request a subscription to {thing}, in electronic format, for our research unit.",
           "The library wishes to take out an institutional subscription to {thing}.",
           "I should very much like to receive {thing}.",
           "I would welcome being added to your mailing list for {thing}.",
           "I was told to leave my email so you could send me {thing}. Here it is: {email}.",
           "can i get ur emails bout {thing}??", "heard you do {thing} - I want it! this email's fine",
           "Is there a way to subscribe to {thing}? Would be great.",
           "I'd like to start receiving {thing} by email.", "Yes, subscribe me, thanks."],
}
UNSUBSCRIBE_MORE2 = {
    "es": ["Por la presente les solicito que den por finalizada mi suscripción a {thing}.",
           "Les ruego que den por terminada mi suscripción a {thing}.",
           "Quiero finalizar mi suscripción a {thing}."],
    "en": ["Please terminate my subscription to {thing} with effect from today.",
           "I would like to end my subscription to {thing}."],
}
OTHER_MORE2 = {
    "es": ["Soy suscriptor desde hace años y me gustaría usar en clase textos de {thing}. ¿Necesito permiso?",
           "Gracias por la confirmación. Una pregunta: ¿{thing} se envía los lunes o los jueves?",
           "Estoy suscrito a la edición impresa. ¿Puedo recibir también el PDF sin coste?",
           "Nos gustaría poner un anuncio en {thing} de diciembre. ¿Nos envían sus tarifas?",
           "Por la presente solicito una copia de la factura de mi suscripción.",
           "Solicitamos información sobre las tarifas de suscripción institucional.",
           "Me parece una falta de seriedad y quiero que me den una solución.",
           "Les escribo bastante molesto: quiero que me devuelvan el dinero de la chaqueta."],
    "en": ["I subscribe to the print edition. Is it possible to receive the PDF as well at no extra cost?",
           "We would like to place an advert in {thing} for December. Could you send us your rates?",
           "Thank you for the confirmation. Which day is {thing} sent?",
           "I've been a subscriber for years; may I use some texts from {thing} in class?",
           "I hereby request a copy of the invoice for my subscription.",
           "A message that you sent could not be delivered to one or more of its recipients.",
           "We request information about institutional subscription rates.",
           "I find this unacceptable and I want you to give me a solution."],
}
for _table, _more in ((SUBSCRIBE, SUBSCRIBE_MORE), (UNSUBSCRIBE, UNSUBSCRIBE_MORE), (OTHER, OTHER_MORE),
                      (SUBSCRIBE, SUBSCRIBE_MORE2), (UNSUBSCRIBE, UNSUBSCRIBE_MORE2), (OTHER, OTHER_MORE2)):
    for _language in ("es", "en"):
        _table[_language] += _more[_language]

def _sample(rng: random.Random, items: list[str], k: int) -> list[str]:
    items = sorted(set(items))
    return items if len(items) <= k else rng.sample(items, k)


def grammar_templates(label: str, language: str, rng: random.Random, per_family: int = 60) -> list[str]:
    """Templates with slots ({thing}, {email}, {name}, {rel}) of every phrasing family."""
    out: list[str] = []
    if label == "subscription" and language == "en":
        ends = ["?", ".", "!", ""]
        out += _sample(rng, [f"{a} {act.replace('{who}', w)}{e}" for a in EN_ASK for act in EN_ACT
                             for w in EN_WHO for e in ends], per_family * 3)
        out += _sample(rng, [f"{w} {{thing}} {d}".strip() + "." for w in EN_WANT for d in EN_DEST],
                       per_family)
        out += _sample(rng, [f"{s} {{thing}} {r}".strip() + "." for s in EN_SEND for r in EN_RECUR],
                       per_family)
        out += _sample(rng, [f"{j} {{thing}}." for j in EN_JOIN], per_family)
        out += _sample(rng, [f"{f}, {t}" for f in EN_FOUND for t in EN_THEN], per_family)
        out += EN_BEHALF + TERSE["en"] + PRONOUN["en"]
        out += _sample(rng, [f"{i.replace('{news}', n)}." for i in INFORMED["en"] for n in NEWS["en"]],
                       per_family)
        out += [c.replace("{sub}", w) for c in CONFIRM["en"] for w in CONFIRM_WHAT["en"]]
        out += _sample(rng, [f"{o} {x} {t}." for o in EN_OBJ_OPEN for x in EN_OBJ for t in EN_OBJ_TO],
                       per_family)
    elif label == "subscription":
        ends = ["?", ""]
        out += _sample(rng, [f"{a} {inf.split(' ', 1)[0]}me {inf.split(' ', 1)[1]}{e}"
                             if a in ("¿Sería posible", "¿Les importaría", "¿Os importaría")
                             else f"{a} {inf}{e if a.startswith('¿') or '¿' in a else '.'}"
                             for a in ES_ASK_INF for inf in ES_INF for e in ends], per_family * 2)
        out += _sample(rng, [f"{o} {s}{t}." for o in ES_SUBJ_PAST_OPEN for s in ES_SUBJ_PAST
                             for t in ES_TAIL], per_family)
        out += _sample(rng, [f"{o} {s}{t}." for o in ES_SUBJ_PRES_OPEN for s in ES_SUBJ_PRES
                             for t in ES_TAIL], per_family)
        out += _sample(rng, [f"{i}{t}." for i in ES_IMPER for t in ES_TAIL], per_family * 2)
        out += _sample(rng, [f"{w} {{thing}} {d}".strip() + "." for w in ES_WANT for d in ES_DEST],
                       per_family)
        out += _sample(rng, [f"{j} {{thing}}." for j in ES_JOIN], per_family)
        out += _sample(rng, [f"{f}, {t}" for f in ES_FOUND for t in ES_THEN], per_family)
        out += ES_BEHALF + TERSE["es"] + PRONOUN["es"]
        out += _sample(rng, [f"{i.replace('{news}', n)}." for i in INFORMED["es"] for n in NEWS["es"]],
                       per_family)
        out += [c.replace("{sub}", w) for c in CONFIRM["es"] for w in CONFIRM_WHAT["es"]]
        out += _sample(rng, [f"{o} {x} {t}." for o in ES_OBJ_OPEN for x in ES_OBJ for t in ES_OBJ_TO],
                       per_family)
    elif label == "unsubscription" and language == "en":
        out += _sample(rng, [f"{a} {act.replace('{who}', w)}." for a in EN_UNSUB_ASK for act in EN_UNSUB_ACT
                             for w in EN_UNSUB_WHO], per_family * 3)
        out += [f"{p}." for p in EN_UNSUB_PLAIN + EN_UNSUB_FORMAL]
    elif label == "unsubscription":
        out += _sample(rng, [f"{a} {inf.split(' ', 1)[0]}me {inf.split(' ', 1)[1]}?"
                             if a in ("¿Sería posible", "¿Les importaría", "¿Os importaría")
                             else f"{a} {inf}?" for a in ES_ASK_INF for inf in ES_UNSUB_INF], per_family * 2)
        out += [f"{p}." for p in ES_UNSUB_SUBJ + ES_UNSUB_FORMAL]
    else:
        out += EN_OTHER_NEAR if language == "en" else ES_OTHER_NEAR
        out += other_asks(language, rng) + FEEDBACK[language] + BEHALF_OTHER[language]
        out += _sample(rng, SIGNED_FORMS[language], 24)
        out += [f"{i}." for i in INFORMED_ONCE[language]]
    return out

# everyday asks that are not a request to join: the same politeness and verbs, other objects
EN_OTHER_ACT = ["send me the invoice for order {n}", "check my order {n}", "call me back",
                "reset my password",
                "update my billing address", "send me a quote", "fix the broken link", "resend the receipt",
                "confirm my booking for the {day}th", "refund order {n}", "tell me your opening hours",
                "send me the catalogue", "add a note to my order {n}", "put me through to billing",
                "remove the duplicate charge", "include the delivery cost in the quote",
                "email me the contract",
                "sign me in for the workshop on the {day}th", "get back to me about invoice {n}",
                "send me more information about pricing", "register my complaint"]
ES_OTHER_INF = ["enviar la factura del pedido {n}", "revisar el pedido {n}", "llamar",
                "cambiar la contraseña",
                "actualizar la dirección de facturación", "mandar un presupuesto", "reenviar el recibo",
                "confirmar la cita del día {day}", "devolver el dinero del pedido {n}", "decir el horario",
                "pasar el catálogo", "añadir una nota al pedido {n}", "pasar con facturación",
                "quitar el cargo duplicado", "incluir el envío en el presupuesto", "enviar el contrato",
                "apuntar para el taller del día {day}", "contestar lo de la factura {n}",
                "mandar más información sobre precios", "registrar mi queja"]


FEEDBACK = {  # suggestions, opinions and stories that are not requests to join anything
    "es": ["Quería comentaros algo que hablamos en la última asamblea: "
           "estaría bien poder reservar desde el móvil.",
           "Estaría bien que la web tuviera modo oscuro.",
           "Solo quería deciros que el último número me encantó.",
           "Soy socia desde hace años y quería proponeros una idea para mejorar las reservas.",
           "Os quería dar las gracias por la atención del otro día.",
           "Creo que deberíais abrir también los domingos.",
           "No es una queja, solo una sugerencia para el club.",
           "Me gustaría comentaros un problema con la app.",
           "Quería saber si seguís organizando las excursiones de los sábados.",
           "Me encantaría que hicierais más talleres para niños.",
           "Os escribo para felicitaros por el aniversario.",
           "Quería avisaros de que hay una errata en la portada de {thing}.",
           "Me gustaría que el club tuviera más horarios de tarde.", "Quiero proponer un tema para {thing}.",
           "Nos encantaría explorar una colaboración con vosotros.", "Me encantaría colaborar en {thing}.",
           "Confirmo que recibí {thing}, gracias.", "Sí, quiero la factura a nombre de la empresa.",
           "Confirmo que quiero cambiar el método de pago."],
    "en": ["I wanted to mention something we discussed at the last meeting: "
           "booking from the phone would be great.",
           "It would be nice if the website had a dark mode.", "Just wanted to say I loved the last issue.",
           "I've been a member for years and wanted to suggest an idea for bookings.",
           "I wanted to thank you for your help the other day.", "I think you should open on Sundays too.",
           "Not a complaint, just a suggestion for the club.",
           "I'd like to tell you about a problem with the app.",
           "I wanted to know whether you still run the Saturday trips.",
           "I'd love it if you ran more workshops for kids.",
           "I'm writing to congratulate you on the anniversary.",
           "I wanted to let you know there's a typo on the front page of {thing}.",
           "I'd like the club to have more evening slots.", "I want to suggest a topic for {thing}.",
           "We'd love to explore a partnership with you.", "I'd love to write a piece for {thing}.",
           "I confirm I received {thing}, thanks.", "Yes, I want the invoice in my company's name.",
           "I confirm I want to change the payment method."],
}


# paperwork: a form "de alta" / "registration" that is signed and sent back is not a list
SIGNED_FORMS = {
    "es": [f"{verb} {state}el formulario de {what}{tail}"
           for verb in ("Adjunto", "Os reenvío", "Os mando", "Te paso")
           for state in ("firmado ", "relleno ", "")
           for what in ("alta de cliente", "alta como proveedor", "alta en el seguro",
                        "inscripción al campamento", "registro de la empresa", "alta del nuevo empleado")
           for tail in (".", ". Cualquier cosa me decís.", ", a ver si está bien.")],
    "en": [f"{verb} {state}{what} form{tail}"
           for verb in ("Attached is the", "Here's the", "I'm sending back the", "Please find the")
           for state in ("signed ", "completed ", "")
           for what in ("new customer", "supplier registration", "insurance enrolment",
                        "summer camp sign-up", "company registration", "new starter")
           for tail in (".", ". Let me know if anything's missing.", ", hope it's all fine.")],
}


BEHALF_OTHER = {  # someone else's matter that is not a list: the on-behalf frame says nothing by itself
    "es": ["{rel} quiere hacer las prácticas con vosotros, ¿a quién manda el currículum?",
           "{rel} quiere devolver el pedido {n}, ¿cómo lo hace?",
           "{rel} quiere cambiar la reserva del día {day}.",
           "Escribo de parte de {rel}, que no puede entrar en su cuenta.",
           "{rel} quiere saber si hacéis descuento a jubilados.",
           "{rel} quiere pedir cita para el día {day}.",
           "En nombre de {rel}, os reclamo la factura {n}."],
    "en": ["{rel} wants to do an internship with you, who should get the CV?",
           "{rel} wants to return order {n}, how does that work?",
           "{rel} wants to change the booking on the {day}th.",
           "I'm writing for {rel}, who can't log in to the account.",
           "{rel} would like to know if you have a senior discount.",
           "{rel} wants an appointment on the {day}th.",
           "On behalf of {rel}, I'm chasing invoice {n}."],
}


def other_asks(language: str, rng: random.Random, k: int = 80) -> list[str]:
    if language == "en":
        return _sample(rng, [f"{a} {act}{e}" for a in EN_ASK for act in EN_OTHER_ACT for e in ("?", ".",
                                                                                               "")], k)
    out = []
    for a in ES_ASK_INF:
        for inf in ES_OTHER_INF:
            verb, _, rest = inf.partition(" ")
            if a in ("¿Sería posible", "¿Les importaría", "¿Os importaría"):
                out.append(f"{a} {verb}me {rest}?".replace(" ?", "?"))
            else:
                out.append(f"{a} {inf}?")
    return _sample(rng, out, k)


# what a list is about, composed, so an unseen topic ("the weekly recipes") is still a list
_TOPIC_RNG = random.Random(152)
COMPOSED_THINGS = {
    "es": _TOPIC_RNG.sample(sorted({f"{art} {what}{often}" for art, what in (
        ("las", "recetas"), ("los", "consejos"), ("los", "artículos"), ("las", "ofertas"), ("los", "cursos"),
        ("las", "novedades del club"), ("las", "actividades"), ("los", "podcasts"),
        ("las", "ofertas de empleo"),
        ("las", "rutas"), ("las", "convocatorias"), ("los", "talleres"), ("las", "lecturas del mes"))
        for often in ("", " semanales", " mensuales", " por correo", " de cada semana")}), 40),
    "en": _TOPIC_RNG.sample(sorted({f"the {often}{what}" for what in (
        "recipes", "tips", "articles", "deals", "course dates", "club news", "activities", "podcast episodes",
        "job alerts", "walks", "calls for papers", "workshops", "reading list")
        for often in ("", "weekly ", "monthly ", "daily ", "email ")}), 40),
}
for _language in ("es", "en"):
    THINGS[_language] += EXTRA_THINGS[_language] + COMPOSED_THINGS[_language]
_GRAMMAR_RNG = random.Random(151)
# every label's phrasings: the hand-written ones, then the grammar's (seeded, so reproducible)
TEMPLATES = {label: {language: base[language] + grammar_templates(label, language, _GRAMMAR_RNG)
                     for language in ("es", "en")}
             for label, base in (("subscription", SUBSCRIBE), ("unsubscription", UNSUBSCRIBE),
                                 ("other", OTHER))}


@dataclass
class Mail:
    label: str
    language: str
    group: str
    subject: str
    body: str
    html: bool = False
    slices: list[str] = field(default_factory=list)
    # the mail's sentences with what each says on its own (the request: the mail's label;
    # greetings, stories, sign-offs: "other"), for the model's sentence-level reading
    segments: list[tuple[str, str]] = field(default_factory=list)
    form_html: str = ""  # a web form's own HTML (else the body's paragraphs are the HTML)


FORM_TITLE = {"es": "Nuevo mensaje desde el formulario de contacto", "en": "New contact form submission"}
FORM_FOOTER = {"es": "Este mensaje se envió desde el formulario de contacto de www.example.com",
               "en": "This message was sent from the contact form at www.example.com"}
FORM_MESSAGE = {"es": "Mensaje", "en": "Message"}


def web_form_fields(rng: random.Random, language: str, message: str) -> list[tuple[str, str]]:
    name = rng.choice(NAMES)
    email = f"{name.split()[0].lower()}{rng.randint(1, 99)}@example.com"
    fields = ([("Nombre", name), ("Email", email), ("Teléfono", f"6{rng.randint(10000000, 99999999)}"),
               ("Motivo", rng.choice(["Consulta general", "Otros", "Información", "Contacto"]))]
              if language == "es" else
              [("Name", name), ("Email", email), ("Phone", f"07{rng.randint(100000000, 999999999)}"),
               ("Topic", rng.choice(["General enquiry", "Other", "Information", "Contact"]))])
    kept = [f for f in fields if f[0] in ("Nombre", "Name", "Email") or rng.random() < 0.5]
    return [*kept, (FORM_MESSAGE[language], message)]


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def typo(rng: random.Random, text: str, rate: float) -> str:
    """Drop, double, swap or replace letters of some words (what fast typing does)."""
    words = text.split(" ")
    for i, word in enumerate(words):
        if len(word) < 4 or rng.random() > rate:
            continue
        k = rng.randrange(1, len(word) - 1)
        operation = rng.randrange(4)
        if operation == 0:
            word = word[:k] + word[k + 1:]
        elif operation == 1:
            word = word[:k] + word[k] + word[k:]
        elif operation == 2:
            word = word[:k - 1] + word[k] + word[k - 1] + word[k + 1:]
        else:
            word = word[:k] + rng.choice("aeiourstnlcm") + word[k + 1:]
        words[i] = word
    return " ".join(words)


def noisy(rng: random.Random, text: str, language: str, slices: list[str]) -> str:
    if rng.random() < 0.35:
        text = strip_accents(text)
        slices.append("no-accents")
    if rng.random() < 0.3:
        text = typo(rng, text, 0.25)
        slices.append("typos")
    if rng.random() < 0.15:
        for a, b in TXT_SPEAK[language]:
            text = text.replace(f" {a} ", f" {b} ")
    roll = rng.random()
    if roll < 0.2:
        text = text.lower()
    elif roll < 0.23:
        text = text.upper()
    if rng.random() < 0.15:
        text = text.replace(".", "").replace(",", "").replace("¿", "").replace("¡", "")
    return text


def fill(rng: random.Random, template: str, language: str) -> str:
    name = rng.choice(NAMES)
    text = template.format(
        thing=rng.choice(THINGS[language]), n=rng.randint(100, 999999), day=rng.randint(1, 28),
        name=name, first=name.split()[0], city=rng.choice(CITIES), rel=rng.choice(ON_BEHALF[language]),
        phone=f"+34 6{rng.randint(10000000, 99999999)}",
        email=f"{name.split()[0].lower()}{rng.randint(1, 99)}@example.com")
    if language == "es":  # "a el boletín" -> "al boletín", "de el" -> "del"
        text = text.replace(" a el ", " al ").replace(" de el ", " del ")
    return text


def signature(rng: random.Random, language: str, slices: list[str]) -> str:
    name = rng.choice(NAMES)
    roll = rng.random()
    if roll < 0.25:
        slices.append("signature")
        lines = [name, rng.choice(COMPANIES), f"Tel. +34 9{rng.randint(10000000, 99999999)}"]
        return "-- \n" + "\n".join(lines[: rng.randint(1, 3)])
    if roll < 0.4:
        slices.append("signature")
        return f"{name}\n{rng.choice(COMPANIES)} | www.example.com\n\n{DISCLAIMER[language]}"
    if roll < 0.5:
        return rng.choice(PHONE_SENT[language])
    if roll < 0.8:
        return name.split()[0]
    return ""


def quoted_thread(rng: random.Random, language: str) -> str:
    quote = rng.choice(QUOTED[language])
    who = f"{rng.choice(NAMES)} <{rng.choice(['info', 'news', 'hola'])}@example.org>"
    roll = rng.random()
    if roll < 0.35:
        head = (f"El lun, {rng.randint(1, 28)} mar 2026 a las 10:{rng.randint(10, 59)}, {who} escribió:"
                if language == "es" else
                f"On Mon, Mar {rng.randint(1, 28)}, 2026 at 10:{rng.randint(10, 59)} AM {who} wrote:")
        if rng.random() < 0.3:  # Gmail wraps long attribution lines
            head = head.replace(f"{who} ", f"{who}\n")
        return f"{head}\n" + "\n".join(f"> {line}" for line in quote.split(". "))
    if roll < 0.65:
        labels = (("De", "Enviado", "Para", "Asunto") if language == "es"
                  else ("From", "Sent", "To", "Subject"))
        block = (f"{labels[0]}: {who}\n{labels[1]}: lunes, 2 de marzo de 2026 10:00\n"
                 f"{labels[2]}: {OUR_ADDRESS}\n{labels[3]}: Novedades\n\n{quote}")
        if rng.random() < 0.5:
            sep = "-----Mensaje original-----" if language == "es" else "-----Original Message-----"
            block = f"{sep}\n{block}"
        return block
    return "\n".join(f"> {line}" for line in quote.split(". "))


def html_of(body: str) -> str:
    paragraphs = "".join(f"<p>{line}</p>" if line.strip() else "<br>" for line in body.split("\n"))
    return (f"<html><head><style>p {{margin:0}}</style></head><body><div dir=\"ltr\">{paragraphs}"
            "</div></body></html>")


def make_mail(rng: random.Random, label: str, language: str, index: int) -> Mail:
    slices: list[str] = []
    templates = TEMPLATES[label][language]
    if label == "subscription":
        extras = [WHY[language], CONTACT[language]]
    elif label == "unsubscription":
        extras = [WHY_LEAVE[language], CONTACT[language]]
    else:
        extras = [CONTEXT_OTHER[language]]
    t = index % len(templates)
    request = fill(rng, templates[t], language)
    if rng.random() < 0.12:  # "Also, could you ...": the point made in passing, after something else
        lead = rng.choice(LEADS[language])
        request = f"{lead} {request[:1].lower()}{request[1:]}"
    parts = [fill(rng, rng.choice(GREETINGS[language]), language)]
    sentences = [request] + [fill(rng, rng.choice(e), language) for e in extras if rng.random() < 0.6]
    if rng.random() < 0.3 and len(sentences) > 1:  # context first, the request later
        sentences = sentences[1:] + sentences[:1]
    # a story around the point, for every label alike, so length and chat say nothing
    story = rng.sample(STORY[language], k=rng.choice([0, 0, 1, 2, 3, 4]))
    cut = rng.randint(0, len(story))
    if story and rng.random() < 0.2:  # the request in the tail of a long sentence
        glue, alone = rng.choice(GLUE[language]), request
        request = f"{story.pop().rstrip('.')}{glue}{request[:1].lower()}{request[1:]}"
        sentences = [request if s == alone else s for s in sentences]
        cut = min(cut, len(story))
    said = noisy(rng, request, language, slices)
    segments = [(said, label) if s == request else (noisy(rng, s, language, slices), "other")
                for s in story[:cut] + sentences + story[cut:] if s]
    sentences = [s for s, _ in segments]
    segments += [(p, "other") for p in parts if p]
    joiner = " " if rng.random() < 0.6 else "\n"
    parts.append(joiner.join(sentences))
    parts.append(rng.choice(SIGNOFFS[language]))
    parts.append(signature(rng, language, slices))
    # sign-offs and signatures say nothing on their own either
    segments += [(line, "other") for line in "\n".join(parts[-2:]).splitlines() if line.strip() != "--"]
    body = "\n\n".join(p for p in parts if p)
    form_html = ""
    if rng.random() < 0.1:  # sent through a web form: fields, the message, the site's footer
        slices.append("web-form")
        fields = web_form_fields(rng, language, joiner.join(sentences))
        segments += [(f"{k}: {v}", "other") for k, v in fields if k != FORM_MESSAGE[language]]
        body = "\n".join(f"{k}: {v}" for k, v in fields) + f"\n\n{FORM_FOOTER[language]}"
        if rng.random() < 0.5:
            form_html = ("<html><body><h3>" + FORM_TITLE[language] + "</h3><table>"
                         + "".join(f"<tr><td><b>{k}:</b></td><td>{v}</td></tr>" for k, v in fields)
                         + f"</table><p>{FORM_FOOTER[language]}</p></body></html>")
    if rng.random() < 0.2:
        slices.append("quoted")
        body = f"{body}\n\n{quoted_thread(rng, language)}"

    roll = rng.random()
    subject_says = "other"  # what the subject says on its own, above a body
    if roll < 0.4:
        subject = rng.choice(SUBJECTS[label][language])
        if subject not in TOPIC_SUBJECTS:  # "Subscribe me", "Darme de baja": the request itself
            subject_says = label
    elif roll < 0.8:
        subject = rng.choice(NEUTRAL_SUBJECTS[language])
        slices.append("body-only")
    elif label != "other" and roll < 0.88:  # "Suscripción" and nothing else: the request itself
        subject = (rng.choice(SUBJECTS[label][language]) if rng.random() < 0.6
                   else fill(rng, rng.choice(SUBJECT_TEMPLATES[label][language]), language))
        if rng.random() < 0.2:  # "Subscription request - Jose Nunez"
            subject += rng.choice([" - ", " ", ": ", " / "]) + rng.choice(NAMES)
        body, segments = "", []
        slices.append("subject-only")
    else:  # the subject alone says it (the body is empty or a bare sign-off)
        subject = said if len(said) < 90 else rng.choice(SUBJECTS["other"][language][:5])
        if label != "other" or rng.random() < 0.5:
            body = rng.choice(["", "", rng.choice(SIGNOFFS[language]), signature(rng, language, [])])
            segments = []
            slices.append("subject-only")
    if rng.random() < 0.3:
        subject = noisy(rng, subject, language, [])
    if rng.random() < 0.15:
        subject = rng.choice(["Re: ", "RE: ", "Fwd: ", "RV: " if language == "es" else "FW: "]) + subject
    html = bool(form_html) or rng.random() < 0.15
    if html:
        slices.append("html")
    # a subject is a request on its own only when it is the request sentence ("Quiero
    # suscribirme al boletín"); "Suscripción" or "Newsletter" alone says nothing
    if "subject-only" in slices:  # read as the model reads it (text.model_text)
        said_alone = subject if body.strip() else f"{subject} {SUBJECT_ONLY}"
        segments.append((said_alone, label))
    else:
        segments.append((subject, subject_says))
    return Mail(label, language, f"{label}-{language}-{t}", subject, body, html,
                sorted(set(slices)), segments, form_html)


def as_raw_email(mail: Mail, i: int) -> RawEmail:
    return RawEmail(mail_id=f"gen-{i}", account="gen", folder="INBOX", subject=mail.subject,
                    text="" if mail.html else mail.body,
                    html=((mail.form_html if mail.body else "") or html_of(mail.body)) if mail.html else "",
                    content_type="text/html" if mail.html else "text/plain",
                    from_addr=f"user{i}@example.com", to=[OUR_ADDRESS], language=mail.language)


def generate(per_label: int = PER_LABEL_AND_LANGUAGE, seed: int = 15) -> list[Mail]:
    rng = random.Random(seed)
    mails = [make_mail(rng, label, language, i)
             for label in ("subscription", "unsubscription", "other")
             for language in ("es", "en") for i in range(per_label)]
    rng.shuffle(mails)
    return mails


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-label", type=int, default=PER_LABEL_AND_LANGUAGE,
                        help="mails per label and language")
    args = parser.parse_args()
    lines = data_lines(generate(args.per_label))
    DATA.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same lines give the same bytes
    with OUT.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write("".join(lines).encode("utf-8"))
    print(f"wrote {len(lines)} lines to {OUT.relative_to(ROOT)} ({OUT.stat().st_size} bytes)")
    return 0


# a subject that names a topic (a noun phrase, not a request said in words): above a body it
# says nothing on its own, because spam and other mail carry it too ("Solicitud de
# suscripción: <anything>"); "Quiero recibir el boletín" or "Darme de baja" are the request
TOPIC_SUBJECTS = {"Suscripción", "suscripcion", "Newsletter", "Boletín", "Subscription", "Mailing list",
                  "Alta",
                  "Solicitud de suscripción", "subscription request", "Petición de alta", "Alta boletín",
                  "Newsletter sign-up", "Joining the list", "Baja", "Baja suscripción", "Solicitud de baja",
                  "Unsubscribe request", "Subscription cancellation", "Cancel subscription",
                  "Cancelar suscripción",
                  "Anular suscripción", "End subscription", "Opt out", "No más correos", "Eliminar mis datos",
                  "Stop emails", "Unsubscribe", "Subscribe", "Sign up",
                  *(s for subjects in SUBJECTS["other"].values() for s in subjects)}


def data_lines(mails: list[Mail]) -> list[str]:
    """The JSONL lines: each mail as the model reads it, then each distinct sentence alone."""
    lines = [json.dumps({"text": model_text(as_raw_email(m, i)), "label": m.label,
                         "language": m.language, "group": m.group, "slices": m.slices},
                        ensure_ascii=False) + "\n" for i, m in enumerate(mails)]
    # each sentence alone too (a mail's group: never split from its mail in evaluation)
    seen: set[tuple[str, str]] = set()
    for m in mails:
        for text, label in m.segments:
            # a bare subject above a body ("Newsletter") says nothing: every copy counts, so the
            # few distinct words are not outvoted by the same subject alone on a subject-only mail
            bare = label == "other" and text == m.subject and text in TOPIC_SUBJECTS
            if text.strip() and (bare or (text, label) not in seen):
                seen.add((text, label))
                lines.append(json.dumps({"text": text, "label": label, "language": m.language,
                                         "group": m.group, "slices": ["sentence"]},
                                        ensure_ascii=False) + "\n")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
