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
from mailroom.processor.text import model_text  # noqa: E402

DATA = ROOT / "src" / "mailroom" / "data"
OUT = DATA / "starter.jsonl.gz"
PER_LABEL_AND_LANGUAGE = 2200
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
           "Mi teléfono es {phone}.", "Soy {name}, de {city}.", "Número de cliente: {n}.", ""],
    "en": ["My email is {email}.", "You can use this address.", "My name is {name}.",
           "My phone number is {phone}.", "I'm {name} from {city}.", "Customer number: {n}.", ""],
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
        name=name, first=name.split()[0], city=rng.choice(CITIES),
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
    if label == "subscription":
        templates, extras = SUBSCRIBE[language], [WHY[language], CONTACT[language]]
    elif label == "unsubscription":
        templates, extras = UNSUBSCRIBE[language], [WHY_LEAVE[language], CONTACT[language]]
    else:
        templates, extras = OTHER[language], [CONTEXT_OTHER[language]]
    t = index % len(templates)
    request = fill(rng, templates[t], language)
    parts = [fill(rng, rng.choice(GREETINGS[language]), language)]
    sentences = [request] + [fill(rng, rng.choice(e), language) for e in extras if rng.random() < 0.6]
    if rng.random() < 0.3 and len(sentences) > 1:  # context first, the request later
        sentences = sentences[1:] + sentences[:1]
    # a story around the point, for every label alike, so length and chat say nothing
    story = rng.sample(STORY[language], k=rng.choice([0, 0, 1, 2, 3, 4]))
    cut = rng.randint(0, len(story))
    said = noisy(rng, request, language, slices)
    segments = [(said, label) if s == request else (noisy(rng, s, language, slices), "other")
                for s in story[:cut] + sentences + story[cut:] if s]
    sentences = [s for s, _ in segments]
    segments += [(p, "other") for p in parts if p]
    joiner = " " if rng.random() < 0.6 else "\n"
    parts.append(joiner.join(sentences))
    parts.append(rng.choice(SIGNOFFS[language]))
    parts.append(signature(rng, language, slices))
    body = "\n\n".join(p for p in parts if p)
    if rng.random() < 0.2:
        slices.append("quoted")
        body = f"{body}\n\n{quoted_thread(rng, language)}"

    roll = rng.random()
    if roll < 0.4:
        subject = rng.choice(SUBJECTS[label][language])
    elif roll < 0.8:
        subject = rng.choice(NEUTRAL_SUBJECTS[language])
        slices.append("body-only")
    else:  # the subject alone says it (the body is empty or a bare sign-off)
        subject = said if len(said) < 90 else rng.choice(SUBJECTS[label][language])
        if label != "other" or rng.random() < 0.5:
            body = rng.choice(["", "", rng.choice(SIGNOFFS[language]), signature(rng, language, [])])
            segments = []
            slices.append("subject-only")
    if rng.random() < 0.3:
        subject = noisy(rng, subject, language, [])
    if rng.random() < 0.15:
        subject = rng.choice(["Re: ", "RE: ", "Fwd: ", "RV: " if language == "es" else "FW: "]) + subject
    html = rng.random() < 0.15
    if html:
        slices.append("html")
    # a subject is a request on its own only when it is the request sentence ("Quiero
    # suscribirme al boletín"); "Suscripción" or "Newsletter" alone says nothing
    segments.append((subject, label if "subject-only" in slices else "other"))
    return Mail(label, language, f"{label}-{language}-{t}", subject, body, html,
                sorted(set(slices)), segments)


def as_raw_email(mail: Mail, i: int) -> RawEmail:
    return RawEmail(mail_id=f"gen-{i}", account="gen", folder="INBOX", subject=mail.subject,
                    text="" if mail.html else mail.body, html=html_of(mail.body) if mail.html else "",
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


def data_lines(mails: list[Mail]) -> list[str]:
    """The JSONL lines: each mail as the model reads it, then each distinct sentence alone."""
    lines = [json.dumps({"text": model_text(as_raw_email(m, i)), "label": m.label,
                         "language": m.language, "group": m.group, "slices": m.slices},
                        ensure_ascii=False) + "\n" for i, m in enumerate(mails)]
    # each sentence alone too (a mail's group: never split from its mail in evaluation)
    seen: set[tuple[str, str]] = set()
    for m in mails:
        for text, label in m.segments:
            if text.strip() and (text, label) not in seen:
                seen.add((text, label))
                lines.append(json.dumps({"text": text, "label": label, "language": m.language,
                                         "group": m.group, "slices": ["sentence"]},
                                        ensure_ascii=False) + "\n")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
