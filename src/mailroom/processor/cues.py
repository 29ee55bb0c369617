"""Words that say a mail is not a subscription request, whatever the models read (pure).

The last veto on an automatic "your subscription is confirmed" (docs/classification.md,
"When mailroom answers"). A linear model weighs a mail's words; one cancellation clause in
a friendly mail ("... and please stop sending me the promos") or a negation ("not
interested in the newsletter") can be outweighed by the rest. These phrases are read in
the mail's own words (``text.model_text``: subject, then the body above quotes and
signature), folded (no accents, any case), and each one found sends the nominated mail to
a person. A cue only ever *stops* a reply; it never makes one.

Two kinds:

- ``cancellation``: asking to leave, stop or pause ("darme de baja", "desuscribime",
  "cancelar mi suscripción", "supriman mi dirección de sus listas", "unsubscribe",
  "remove me", "stop sending", "cease sending", "se abstengan de remitirme", "refrain from
  sending", "opt out", "pause my subscription", "den por finalizada mi suscripción"); a leaving
  or a loss told in the past ("I unsubscribed by accident", "me di de baja sin querer", "I
  deleted my old account", "I no longer receive it", "he dejado de recibir") is none;
- ``not a request``: negations and mail about a subscription rather than asking for one
  ("I never subscribed", "no me interesa el boletín", "no busco suscribirme", "don't want
  to subscribe", "thanks for subscribing", "your subscription is active", "do not reply to
  this message", "I'm already subscribed", "estoy suscrita", "advertise in the newsletter",
  "patrocinar el boletín", "include our concert in the next newsletter").

Either kind told before an ask to be put on a list is none ("resubscribe me", "¿me volvéis a
meter?", "I cancelled my magazine subscription, but can you sign me up?", "ya estoy
suscrito al boletín, pero quería suscribirme también a los avisos").

This is the only place these phrases live; a requester whose mail has one still gets a
person's answer, so a cue costs some automatic replies and never a wrong one.

The same asks, in a mail that names a list (``asks_to_join``), are the one thing here that
speaks *for* a reply, and never alone: they make up for an intent model whose P(subscription)
falls short of ``CLASSIFIER_MIN_CONFIDENCE`` by ``CLASSIFIER_ASK_MARGIN`` at most ("Me di de
baja sin querer. ¿Me volvéis a suscribir?": a leaving told before the ask pulls the model
towards a cancellation; "¿Me suscriben a Epífita?": a newsletter's name it never saw). The
cues are still read after it.
"""

from __future__ import annotations

import re

from mailroom.processor.text import fold

# the typographic apostrophes (a phone's keyboard types "I’ll", "don’t") read as "'", which is
# what every phrase below spells; one character for one, so positions stay
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def _cue_text(text: str) -> str:
    """What the phrases below read: ``text.fold`` with the typographic apostrophes as "'"."""
    folded = fold(text)
    return folded if folded.isascii() else folded.translate(_APOSTROPHES)

# what the writer receives from the list, named: "me quitan el correo" and "ya no quiero otro
# boletín" are about it, "me quitan el dolor" and "ya no quiero otra (miel)" are not
_MAILING_NOUN = r"(correo|mail|e-?mail|mensaje|boletin|newsletter|envio|aviso|lista|su(b)?s?cr)"
# (words one of which the text must contain, the phrase): the words are a cheap test, so a
# mail pays for the regular expressions only of phrases that may be in it
_CANCEL: list[tuple[tuple[str, ...], str]] = [
    # Spanish: baja, desuscribir, cancelar/anular, quitar/sacar/borrar/eliminar/retirar de la lista
    (("baja",), r"\bd\w{0,6}\s+de\s+baja\b"
     r"|\bde\s+baja\s+(de|del|en|a)\b(?!\s+(maternidad|paternidad|enfermedad|medica|"
     r"laboral))|(?<!\ba\s)\bla\s+baja\b|\ba\s+la\s+baja\s+(de|del)\b"
     # (not a subject "Baja de maternidad" / "Baja por enfermedad": a leave from work)
     r"|^\s*baja\b(?!\s+(de|por)\s+(maternidad|paternidad|enfermedad|medica|laboral))"),
    (("desus", "dess", "desub", "desins", "desap", "desaf"),
     r"\bdes(s?u?s|u?b?s|ins)cri[bvp]|\bdesapunt|\bdesafili"),
    (("cancel", "anul", "suspend", "paus", "congel", "revoc", "finaliz", "termin"),
     # ("la cancelación inmediata de mi suscripción": a word may stand before the "de")
     r"\b(cancel|anul|suspend|paus|congel|revoc|finaliz|termin(?!olog))\w*\s+((\w+\s+)?de\s+)?(mi|la|nuestra|su|esta|el"
     r"|mis)?\s*"
     r"(suscri|subscri|alta|registro|envio|boletin|newsletter|membresia|cuenta)"),
    # what is delivered, in the imperative or asked for ("cancelad su caja", "parad la caja de
    # vinos", "suspendan el reparto del pan", "les ruego suspender la entrega del diario"; not
    # "cancelé la caja" or "Ana terminó su cesta", told)
    (("cancel", "anul", "suspend", "paus", "congel", "parad", "paren", "parar"),
     r"\b(cancelad|cancela|cancelen|anulad|anula|anulen|suspended|suspende|suspendan|suspenda|pausad|pausa"
     r"|pausen|congelad|congela|congelen|parad|paren|cancelar|anular|suspender|pausar|congelar|parar)"
     r"(me|nos|le)?\s+(de\s+)?(mi|la|nuestra|su|esta|el|mis|sus|las"
     r"|los)\s+(caja|cajas|cesta|cestas|reparto|revista|revistas|entrega|entregas)\b"),
    # ("tachen mi nombre de la lista": crossed off it)
    (("quit", "sac", "saq", "borr", "elimin", "retir", "remov", "exclu", "suprim", "tach"),
     r"\b(quit|sac|saq|borr|elimin|retir|remov|exclu|suprim|tach)\w*\s+(\w+\s+){0,4}(de|del)\s+(\w+\s+){0,3}(lista|listas|"
     r"boletin|boletines|base|bases|envios|mailing|correos|suscriptores|destinatarios|distribucion|"
     r"avisos|newsletter|comunicaciones)"
     r"|\b(me|nos|lo|la|le)\s+(pueden|podeis|podrian|podriais|puedes|podes|podrias)\s+(borrar|quitar|"
     r"sacar|eliminar|retirar|desapuntar)\b"
     # (not "unas pastillas que me quitan el dolor": what is taken is named, and it is no mailing)
     r"|\b(me|nos)\s+(sacan|quitan|borran|eliminan|sacais|quitais|borrais|saquen|quiten|borren)\b"
     r"(?!\s+(el|la|los|las)\s+(?!" + _MAILING_NOUN + r"|direccion|cuenta|nombre|dato|registro|alta)\w)"
     r"|\b(quitadme|quitame|quitenme|sacadme|sacame|saquenme|borradme|borrame|borrenme|eliminadme|"
     r"eliminame|eliminenme|retiradme|retirenme)\b"),
    (("derecho",), r"\bderecho\s+de\s+(supresion|oposicion|cancelacion)"),
    # put on a list without being asked ("me suscribieron sin preguntarme ..., así que fuera";
    # "you signed me up without my consent"): in such a mail, a leaving
    (("sin pregunt", "sin mi permiso", "sin mi consentimiento", "sin consultar", "without ask",
      "without my"),
     r"\b(me|nos)\s+(suscribieron|suscribio|apuntaron|apunto|inscribieron|inscribio|metieron|metio"
     r"|agregaron|agrego|anadieron|anadio|dieron\s+de\s+alta|dio\s+de\s+alta)\s+([\w'-]+\s+){0,6}sin\s+"
     r"(preguntar(me|nos)?|mi\s+permiso|nuestro\s+permiso|mi\s+consentimiento|consultar(me|nos)?)\b"
     r"|\b(subscribed|signed|added|put|enrolled)\s+(me|us)\s+([\w'-]+\s+){0,6}without\s+(asking"
     r"|my\s+(permission|consent)|our\s+(permission|consent))\b"),
    (("cion de",), r"\b(cancelacion|anulacion)\s+de\s+(mi|la|nuestra|su|esta)\b"),
    (("cesen", "cesar", "cese ", "cesad", "ceseis"),
     r"\bces(en|ar|e|ad|eis)\s+(de\s+)?(el\s+|los\s+|sus\s+)?(envi|mand|remit|comunicaci)"),
    (("no quiero", "no queremos", "no dese", "no me ", "no nos ", "ya no", "no vuelv", "no volv",
      "no necesit", "no hace falta", "no lo ", "no la ", "no los ", "no las ", "no kiero", "no envi",
      "no mand", "no remit"),
     r"\bno\s+((lo|la|los|las)\s+)?(quiero|queremos|deseo|deseamos|necesito|necesitamos|me\s+interesa|nos\s+interesa)\s+(recibir|seguir|"
     # (not "no quiero que me vuelva a pasar" / "que me pase lo mismo": it is not to happen again)
     r"que\s+me(?!\s+(vuelva\s+a\s+pasar|pase)\b))"
     r"|\bno\s+(kiero|quiero|queremos|deseo)\s+(mas|nada\s+mas)\s+(correos|mails|e-?mails|boletines|nada"
     r"|de\s+ustedes|de\s+vosotros)"
     # (not "ya no quiero depender de que ella me los reenvíe" or "ya no quiero perderme nada",
     # which ask for them, nor a wish about something else told beside an ask: "ya no quiero ir
     # de invitado", "ya no quiero andar comprando en el súper", "ya no quiero enterarme por las
     # redes", "ya no quiero otra" of a product the writer now orders)
     r"|\bya\s+no\s+(quiero|queremos|deseo|deseamos|me\s+interesa|nos\s+interesa)\b(?!\s+(depender|perder"
     r"|ir\b|enterarme\s+por\b|otr[oa]\b(?!\s+" + _MAILING_NOUN + r")"
     r"|(andar|estar)\s+(?!recibiendo|pagando|figurando|apareciendo)\w+(ando|iendo)\b))"
     r"|\bya\s+no\s+(me|nos|le)\s+(envi|mand|escrib|lleguen\b|llegue\b|traig|dejen\s+(la|el|los|las)\b)"
     r"|\bque\s+no\s+(me|nos)\s+(lleguen|llegue|envien|envieis|manden|mandeis)\b"
     r"|\bno\s+(me|nos)\s+((la|las|lo|los)\s+)?(envi|mand|escrib|inclu|anad|agreg|apunt)\w*\s+(mas|nada|ningun)"
     r"|\bno\s+(me|nos)\s+(sigan|sigais|sigas|siga)\s+(mandando|enviando|escribiendo|remitiendo)"
     r"|\b(ya\s+)?no\s+hace\s+falta\s+que\s+(me|nos|le)\s+(\w+\s+)?(mand|envi|sig)"
     r"|\bno\s+(vuelvan|volvais|vuelvas)\s+a\s+(enviar|mandar|escrib)"
     # "les ruego que no envíen más el boletín" (not "¿no envían más a Burgos?", which asks)
     r"|\bno\s+(envien|envieis|manden|mandeis|remitan|remitais)\s+(mas|nada)\b"),
    (("dej", "paren", "parad", "basta", "absten"),
     r"\b(dej|par)(en|ad|a|e|ar|eis|es|ais|as|an)\s+de\s+(enviar|mandar|escrib|mand|envi|remit|inclu)"
     # (not "no quiero dejar de recibirla en papel", which keeps a delivery)
     r"|(?<!\bno\squiero\s)(?<!\bno\squeremos\s)(?<!\bno\sdeseo\s)\bdej(?!ado)\w*\s+de\s+recibir"
     r"|\babsten\w*\s+de\s+(\w+\s+){0,2}(enviar|remitir|mandar|escribir|contactar)"
     r"|\bbasta\s+de\s+(correos|mails|emails|envios|boletines)"),
    # not renewing a paid subscription or membership ("no deseo renovar la suscripción", "no me
    # renueven la membresía"; not "no me renuevan el contrato", which tells what others do)
    # (also told: "no renuevo, gracias", "este año no la voy a renovar"; not "si no renuevo,
    # ¿pierdo el descuento?")
    (("renov", "renuev"), r"\bno\s+(deseo|deseamos|quiero|queremos|vamos\s+a|voy\s+a|pienso)\s+renovar"
     r"|\bno\s+(me\s+|nos\s+|le\s+|se\s+|la\s+|lo\s+)?(renueven|renueve|renoveis)\b"
     r"|(?<!\bsi\s)\bno\s+(la\s+|lo\s+|le\s+)?(renovare|renuevo|renovamos|renovaremos|(voy|vamos)\s+a\s+renovar)\b"),
    # ("solicito mi retiro como socia", "que retiren como socia a mi nieta": a member withdrawn,
    # not a retirement; "dejaré de formar parte de la asociación", "dejo de formar parte del club")
    (("ser soci", "salgo", "salimos", "renuncia", "como soci", "como asociad", "como afiliad",
      "formar parte"),
     r"\bretir(?!ad[oa]s?\b)\w*\s+como\s+(socio|socia|socios|asociad[oa]s?|afiliad[oa]s?)\b"
     r"|\bdej(o|amos|are|aremos)\s+de\s+formar\s+parte\s+(de\s+la|del)\s+(\w+\s+)?(asociacion|club|"
     r"cooperativa|sociedad|agrupacion|coral|hermandad|cofradia|federacion|mutual|pena|penya)\b"
     r"|\bdej(o|amos|a|ar)\s+de\s+ser\s+soci|\b(me|nos)\s+(salgo|salimos)\s+(de\s+)?(la|el)\s+(\w+\s+)?"
     r"(asociacion|club|cooperativa|lista|grupo)|\b(presento|presentamos)\s+(mi|nuestra)\s+(renuncia|baja)"
     r"|\brenunci\w*\s+a\s+(mi|la|nuestra)\s+(\w+\s+){0,3}(socio|socia|membresia|suscripcion|cuota)\b"),
    # "parad(me) los correos un tiempo", "congelad el boletín", "¿pueden parar los correos?",
    # "congelen lo de los mails", "pausadla": stopping what comes, or "it" (the list named)
    (("parar", "parad", "paren", "pare", "paus", "congel", "suspend", "deten"),
     r"\b(parar|parad|paren|pare|paus\w*|congel\w*|suspend\w*|deten\w*)(me|nos)?\s+(lo\s+de\s+)?"
     r"(los|el|las|la|mis|vuestros|sus)\s+(correos|envios|boletin\w*|avisos|mails|e-?mails|newsletters?"
     r"|alertas)\b"
     r"|\b(parad|paren|paus\w*|congel\w*|suspend\w*)(lo|la|los|las)\b"),
    # English
    (("unsub", "un-sub", "unsu", "opt", "un-add", "unadd"),
     r"\bun-?sub|\bun-?su\w{0,4}cri|\bun-?add\s+(me|us)\b|\bopt\s*-?\s*(me\s+|us\s+)?out\b|\bopting\s+out\b"),
    (("remov", "delet", "erase", "exclud", "unlist", "take"),
     r"\b(remove|delete|erase|exclude|unlist)\s+(me|us|my|our|this\s+address|this\s+e-?mail\s+address|"
     r"these\s+addresses|the\s+address|him|her|them|his|their)\b|\b(remove|delete|erase)\s+\S+@\S+\s+from\b"
     r"|\b(remove|delete|erase|take)\w*\s+(\w+\s+){0,3}(from|off)\s+(your|the|this|our)\s+(\w+\s+){0,2}"
     r"(list|mailing|database|newsletter|bulletin|distribution)"
     r"|\b(be|get|being|getting)\s+(removed|deleted|unlisted|taken\s+off)\b"),
    # "pull me from the rental alerts", "drop us from the team emails" (the writer, from what
    # a list sends; not "drop me a line", "pull me from the roster")
    (("pull", "drop"), r"\b(pull|drop)\s+(me|us)\s+(from|off)\s+(the|your|this|these|those|all)\s+"
     r"([\w'-]+\s+){0,3}(list|lists|mailing|newsletters?|bulletins?|alerts|e-?mails|mails|updates"
     r"|notices)\b"),
    # (not "take my mind off it", "get my shoes off")
    (("off",), r"\b(take|get|pull|drop|knock|strike|cross)\s+(me|us|my|our|this|him|her|them|his|their)\s+"
     r"(?!(mind|minds|thoughts|eyes|hat|hats|shoes|boots|coat|jacket)\b)(\w+\s+){0,2}off\b"
     r"|\b(leave|get\s+off|come\s+off)\s+(the|your|this)\s+(\w+\s+){0,2}(list|mailing|newsletter|bulletin)"),
    # leaving the list, or what the subscription or membership is of ("I'm quitting the wine
    # club", "dejo el club de quesos"; not "os dejo mi correo", which gives an address), and
    # being left out of what it sends ("leave me out of the film society emails"; not "don't
    # leave me out of the newsletter", which asks to stay)
    (("leav", "quit"), r"(?<!\bnot\s)(?<!n't\s)\b(leave|leaving|quit|quitting)\s+(the|your|this|my)\s+"
     r"(\w+\s+){0,2}(list|mailing|newsletter|bulletin|club|membership|subscription|society|association|co-?op)"
     r"|(?<!\bnot\s)(?<!n't\s)\bleave\s+(me|us)\s+out\s+of\s+(the|your|this|these|those|all|any)\s+"
     r"([\w'-]+\s+){0,3}(e-?mails|mails|mailings?|list|newsletters?|bulletins?|messages|alerts|notices)\b"
     # "I'm leaving the Clyne Valley Wheelers as a member" (whatever the club is called)
     r"|(?<!\bnot\s)(?<!n't\s)\b(leave|leaving|quit|quitting)\s+(the|your)\s+([\w'&-]+\s+){1,4}as\s+an?\s+"
     r"member\b"),
    (("dejo", "dejamos", "dejar"), r"\b(dejo|dejamos|dejar)\s+(el|la|mi|nuestra|nuestro|vuestro|vuestra)\s+"
     r"(\w+\s+)?(club|suscripcion|membresia|asociacion|cooperativa|lista|boletin|newsletter|cuota)\b"),
    (("stop", "cease", "quit", "discontinu", "halt", "end ", "terminat", "paus", "suspend", "freez",
      "cancel", "remove", "refrain", "close ", "hold "),
     r"\b(stop|cease|quit|discontinue|halt|end)\s+(send|email|mail|contact|messag|writ)\w*"
     r"|\brefrain\s+from\s+(send|e-?mail|mail|contact|writ)"
     r"|\bstop\s+receiving\b|^\s*(stop|remove)\s*[.!]*\s*$"
     r"|\bcancell?ation\s+of\s+(my|our|the|this)\b"
     # (also someone else's: "cancel his subscription", "end her membership")
     r"|\b(cancel|end|terminate|pause|suspend|stop|freeze|discontinue|close)\w*\s+(my|our|the|this|that|his|her"
     r"|their)\s+"
     r"([\w'-]+\s+){0,3}(subscription|membership|newsletter|mailing|emails|alerts|notices|notifications|"
     r"bulletins?)\b"
     # what is delivered, asked in so many words ("cancel the two monthly magazines", "pause the
     # meal kit", "stop the Saturday paper", "hold the paper for three weeks"; not "I cancelled the
     # box last year", told, or "can I pause the box when I travel?", asked about)
     r"|\b(?=[cpsdh])(?<!\bcan\si\s)(?<!\bcan\swe\s)(?<!\bcould\si\s)(?<!\bi\s)(?<!\bwe\s)(?<!\balready\s)"
     r"(?<!\bif\si\s)(?<!\bif\swe\s)(?<!\bable\sto\s)(?<!\bhow\sto\s)(?<!\bhow\sdo\si\s)"
     r"(cancel|pause|stop|suspend|discontinue|hold)\s+(my|our|the|this|that|his|her|their)\s+"
     # (not "hold the magazine for me every month": kept for the writer)
     r"([\w'-]+\s+){0,3}(box(es)?|kits?|paper|magazines?|deliver(y|ies)|milk|shares?)\b(?!\s+for\s+(me|us)\b)"
     r"|\b(cancel|discontinue|stop|suspend|pause)\s+(the\s+)?deliver(y|ies)\s+of\b"),
    # not renewing ("please do not renew my membership", "I won't be renewing"; not "if I don't
    # renew, do I lose the back issues?")
    (("renew", "continuing"), r"(?<!\bif\si\s)(?<!\bif\syou\s)(?<!\bif\swe\s)"
     r"\b(do\s*n[o']?t|do\s+not|not\s+to)\s+(auto-?)?renew\b|\b(won'?t|will\s+not|shall\s+not|not)\s+be\s+(renewing|continuing)\b"
     r"|\b(i|we)\s*('m|\s+am|'re|\s+are)\s+not\s+(renewing|going\s+to\s+renew\b)|\b(do\s*n[o']?t|do\s+not)\s+(want|wish)\s+to\s+renew"),
    # resigning one ("I write to resign my membership")
    (("resign",), r"\bresign\w*\s+(my|our|his|her|from)\s+(\w+\s+){0,3}(membership|subscription|club|society"
     r"|association|friends)"
     r"|\b(accept|tender|submit|offer)\w*\s+(my|our)\s+resignation\s+(from|as)\b"),
    # each with its own words, so the long table above is not read for them
    (("ended", "cancel", "terminat", "stopped", "discontinu", "suspend", "paus"),
     r"\b(my|our)\s+subscription\s+([\w'-]+\s+){0,6}(be|is\s+to\s+be)\s+(ended|cancell?ed|terminated|stopped"
     r"|discontinued|suspended|paused)\b"
     # "we would like the subscription to the briefing cancelled from 1 January" (not "I'd like
     # the subscription I paused started again": a stop told, inside the thing asked for)
     r"|\b(like|want|need|wish)\s+(my|our|the|this|that|his|her|their)\s+(subscription|membership|newsletter"
     r"|box|magazine|delivery|deliveries)\s+((?!(i|we|you|they|he|she|it)\b)[\w'-]+\s+){0,6}(cancell?ed|stopped"
     r"|ended|discontinued|terminated|paused|suspended)\b"),
    (("cease", "discontinu"), r"\b(cease|discontinue)\s+(the|my|this|these|those|them|it)\b"),
    # "please cancel it altogether", "cancel them for good"
    (("altogether", "completely", "entirely", "for good", "permanently"),
     r"\bcancel\s+(it|them)\s+(altogether|completely|entirely|for\s+good|permanently)\b"),
    (("drop",), r"\bdrop\s+(this|my|our)\s+(e-?mail\s+)?address\b|\bdrop\s+(me|us)\s+(from|off)\b"),
    (("to stop",), r"\b(like|want|wish|need)\s+(them|those|these|it|this|that)\s+to\s+stop\b"),
    (("hold",), r"\bhold\s+(off\s+(on\s+|with\s+)?)?(the|my|our|all|any)\s+([\w'-]+\s+){0,3}"
                r"(e-?mails|alerts|notices|mailings|newsletters?|bulletins?)\b"
                r"|\bhold\s+off\s+(on\s+|with\s+)?(e-?mailing|sending|mailing|writing\s+to)\s+(me|us)\b"),
    # "take a break from the gym membership for the season": a pause (not "a break from work")
    (("break",), r"\b(take|taking|have|having)\s+a\s+(short\s+|little\s+|long\s+)?break\s+from\s+"
                 r"(the|my|our|your|this)\s+([\w'-]+\s+){0,3}(subscription|membership|newsletters?|mailings?"
                 r"|e-?mails|alerts|bulletins?|deliveries|box(es)?)\b"),
    (("go from", "no need", "struck", "strike"),
     r"\blet\s+(me|us)\s+go\s+from\b|\bno\s+need\s+to\s+(keep\s+)?(send|e-?mail|mail)"
     r"|\b(be\s+)?struck\s+(off|from)\b|\bstrike\s+(me|us|my|our)\s+(\w+\s+)?(off|from)\b"),
    # (not "I can no longer get it at the newsagent, please post it", "my parents no longer get
    # to church": what someone cannot do, not what should stop)
    (("no longer",), r"(?<!\bi\s)(?<!\bwe\s)\bno\s+longer\s+receive\b"
     r"|(?<!\bi\s)(?<!\bwe\s)(?<!\bcan\s)(?<!\bcould\s)\bno\s+longer\s+get\b(?!\s+to\b)"
     r"|\bno\s+longer\s+(be\s+sent|wish|want|need|like|require)\b"),
    (("n't", "dont", "do not", "never", "you not", "you please not"),
     r"\b(could|can|would|will)\s+you\s+(please\s+)?not\s+(send|e-?mail|mail)\s+(me|us)\b"
     r"|\bdo\s*n[o']?t\s+want\s+(to\s+(keep(?!\s+(finding|missing|hearing|seeing|asking|bothering|checking))"
     r"|stay|continue|remain)|your\s+(\w+\s+)?(emails|mails|"
     r"newsletters?|messages|bulletins?))"
     r"|\b(do\s*n[o']?t|never)\s+send\s+(me|us|any|anything|further|more|this|the|those|these|them)\b"
     r"|\b(do|does)\s*n[o']?t\s+want\s+(the|your|these|those|any)\s+(\S+\s+){0,3}(e-?mails|alerts|notices|"
     r"newsletters?|mailings|messages|bulletins?)\s+(any\s*more|now)\b"
     r"|\b(do\s*n[o']?t|never)\s+(want|wish)\s+to\s+receive"
     r"|\bdo\s*n[o']?t\s+(send|email|mail|contact)\s+(me|us)\b"),
    # "no jam emails during crawfish season", "no newsletters until I'm back": a pause (not
    # "there were no updates during the summer", which tells what came)
    (("during", "until", "till", "for now", "for a while", "for the next", "over the", "while"),
     r"(?<!\bwere\s)(?<!\bwas\s)(?<!\bare\s)(?<!\bis\s)(?<!\bhad\s)(?<!\bgot\s)(?<!\bget\s)(?<!\bsaw\s)"
     r"\bno\s+([\w'-]+\s+){0,2}(e-?mails|mails|newsletters?|alerts|updates|notices|bulletins?|mailings)"
     r"(\s+please)?\s+(during|until|till|while|over\s+the|for\s+(now|a\s+while|the\s+next))\b"),
    (("no more", "enough"), r"\bno\s+more\s+(emails|mails|newsletters|messages)\b"
     r"|\benough\s+(with\s+)?(the\s+|your\s+)?(e-?mails|mails)\b"),
    # what is brought, stopped or skipped in so many words ("please stop posting the Courier to
    # her unit", "skip our crate for the next three deliveries"; not "why did you stop posting
    # it?" or "can I skip the box when I travel?")
    (("stop deliver", "stop post", "stop dropping"),
     r"(?<!\bdid\syou\s)(?<!\bwhy\s)\bstop\s+(delivering|posting|dropping\s+off)\b"),
    (("skip",), r"(?<!\bcan\si\s)(?<!\bcan\swe\s)(?<!\bif\si\s)(?<!\bif\swe\s)(?<!\bhow\sdo\si\s)"
     r"\bskip\s+(the|our|my|this|next)\s+([\w'-]+\s+){0,3}(box(es)?|crates?|shares?|deliver(y|ies)|kits?"
     r"|parcels?)\b"),
    # what is brought, not to be brought ("no me manden el periódico hasta que vuelva", "no nos
    # traigáis la cesta en agosto")
    (("no me", "no nos", "no le"),
     r"(?<!\bsi\s)\bno\s+(me|nos|le|les)\s+(manden|mandeis|mandes|envien|envieis|envies|dejen|dejeis"
     r"|traigan|traigais|traigas)\s+(mas\s+)?(el|la|los|las|ningun\w*|mas)\b"),
    (("baj",), r"\bbaj(en|ad|a|e)(me|nos)\s+de\b"),
]
# a refusal to join something the organisation runs that is not its mailing ("no quiero
# apuntarme a ningún curso", "todavía no queremos inscribirlo a clases", "please don't add me to
# the rota"): it says nothing against the mailing, which such a mail often asks for next
_NOT_TO_AN_ACTIVITY = r"(?!\w*\s+((\w+\s+){0,3}(a|al|en|to|for|on)\s+)" \
    r"(ningun[oa]?\s+|the\s+|a\s+|an\s+|any\s+|el\s+|la\s+|las\s+|los\s+|sus\s+|your\s+)?([\w'-]+\s+)?" \
    r"(curso|clase|taller|coro|rota|roster|class|course|choir|workshop|excursion|trip|team|turno|equipo" \
    r"|grupo|group|club)(s|es)?\b)"
# what is agreed or disagreed with ("the theory that ...", "that view", "your points")
_OPINION = r"(theory|view|idea|notion|claim|argument|opinion|belief|line|thinking|sentiment|point)s?\b"
# how wholly the writer agrees ("I fully subscribe to ...", "we subscribe wholeheartedly to ...")
_FULLY = r"((wholeheartedly|fully|entirely|completely|totally|also|really|certainly|heartily|firmly)\s+)?"
_NOT_A_REQUEST: list[tuple[tuple[str, ...], str]] = [
    # shares, bonds or capital subscribed in a co-operative ("I would like to subscribe for 20
    # shares", "quiero suscribir bonos de aporte social"): an investment, not a mailing
    (("shares", "bonds", "acciones", "participaciones", "aportaciones", "bonos"),
     r"\bsubscrib\w*\s+(for|to)\s+([\w$\u20ac\u00a3.,'-]+\s+){0,4}(shares|bonds)\b"
     r"|\bsu(b)?s?crib\w*\s+([\w$\u20ac.,'-]+\s+){0,4}(acciones|participaciones|aportaciones|bonos)\b"),
    # "nunca me apuntaron" (they never did) is someone else's omission, not a refusal
    (("nunca",), r"\bnunca\s+(me\s+)?(he\s+)?((suscrib|apunt|inscrib|registr|ped)(?!\w*(aron|ieron)\b)"
                 r"|di\s+de\s+alta)"),
    (("no quiero", "no dese", "no queremos", "no pretendo", "no busco", "no necesito",
      "no me interesa", "no respond", "no contest"),
     r"\bno\s+(quiero|deseo|queremos|pretendo|busco|necesito)\s+(suscrib|apunt|inscrib|darme\s+de\s+alta|"
     r"registr)" + _NOT_TO_AN_ACTIVITY +
     r"|\bno\s+me\s+interesa\s+(el|la|los|las|su|vuestro|vuestra)\s+(boletin|newsletter|lista|suscri)"
     r"|\bno\s+(respondas|responda|contestes|conteste)\s+a\s+este\s+(correo|mensaje|email)"),
    # a question asked before deciding ("todavía no me decido", "not sure yet, just asking"):
    # the writer says the wish is not there yet (an ask after it still clears it)
    (("todavia no", "aun no", "not sure yet", "just asking", "solo pregunto", "nomas pregunto",
      "made up"),
     r"\b(todavia|aun)\s+no\s+(me\s+)?(he\s+)?(decid\w*|lo\s+tengo\s+claro|estoy\s+segur[oa]s?)\b"
     r"|\bnot\s+sure\s+yet\b|\bjust\s+asking\b|\b(solo|nomas)\s+pregunto\b"
     # ("she hasn't made up her mind": the one it is asked for has not decided either)
     r"|\b(has|have)\s*(n't|\s+not)\s+(yet\s+)?made\s+up\s+(my|her|his|our|their)\s+minds?\b"),
    # a sign-up asked about, not asked for ("did it actually go through?", "¿ya quedé
    # anotada?"; an ask after it, "if not, please sign me up", still clears it)
    (("go through", "ya quede"),
     r"\bdid\s+(it|that|this|my\s+sign-?up|the\s+sign-?up|my\s+subscription|the\s+form)\s+"
     r"(actually\s+|really\s+)?go\s+through\b"
     r"|\bya\s+quede\s+(anotad|inscrit|apuntad|registrad)[oa]s?\b"),
    # a list's notice of a sign-up someone asked for, to be confirmed ("hemos recibido una
    # solicitud para suscribir esta dirección... si fue usted, confirme"; "if this wasn't you,
    # ignore this email"): the list writing, not a person asking
    (("usted", "solicit", "fuiste", "was you", "wasn't you", "was not you", "didn't", "did not"),
     r"\bsi\s+(no\s+)?(fue|ha\s+sido)\s+usted\b|\bsi\s+no\s+(lo\s+)?(solicito|ha\s+solicitado|pidio"
     r"|fuiste\s+tu)\b|\bif\s+(this|it)\s+(was|wasn't)\s+(not\s+)?you\b"
     r"|\bif\s+you\s+(didn't|did\s+not)\s+(request|ask|sign)"),
    # a statement or an agreement an organisation signs ("el colectivo suscribe el comunicado
    # conjunto", "suscribimos íntegramente el manifiesto"): no mailing asked for
    (("comunicado", "manifiesto", "declaracion", "acuerdo", "convenio", "carta", "documento", "escrito",
      "peticion", "propuesta", "texto", "pronunciamiento"),
     r"\bsuscrib\w*\s+((el|la|este|esta|dicho|dicha|plenamente|integramente|tambien|nuestro|nuestra|un|una)\s+)"
     r"{0,2}"
     r"(comunicado|manifiesto|declaracion|acuerdo|convenio|carta|documento|escrito|peticion|propuesta"
     r"|texto|pronunciamiento)\b"),
    (("gracias por",), r"\bgracias\s+por\s+(suscribirte|suscribirse|tu\s+suscripcion|su\s+suscripcion|"
     r"darte\s+de\s+alta)"),
    (("suscripcion",), r"\btu\s+suscripcion\s+(ya\s+)?(esta|ha\s+sido)\s+(activa|confirmada|activada)"),
    (("automatic", "automated"), r"\b(este\s+es|esto\s+es|es)\s+un\s+mensaje\s+automatico\b"
     r"|\bmensaje\s+automatico[\s,.:;-]+(por\s+favor[\s,]+)?no\s+(responda|conteste|respondas|contestes)\b"
     r"|\bthis\s+is\s+an\s+automated\s+(message|email)"
     r"|\bcreated\s+automatically\s+by\s+mail\s+delivery"),
    # a bounce ("no se ha podido entregar el mensaje a uno o más destinatarios")
    (("deliver", "entreg"), r"\bcould\s+not\s+be\s+delivered\s+to\b|\bno\s+(se\s+)?(ha\s+)?(pudo|podido)\s+"
     r"(ser\s+)?entregar\w*\s+(el\s+mensaje\s+)?(a|al)\b"),
    (("never", "n't", "didnt", "dont", "did not", "do not", "not interested"),
     r"\b(i|we)\s+(never|did\s*n[o']?t|did\s+not)\s+(subscribe|sign\w*\s*up|opt\w*\s+in|ask\w*\s+for|request)"
     # "don't add me to anything" refuses; "why don't you add me?" asks
     r"|(?<!\bwhy\s)\b(do\s*n[o']?t|never)\s+(add|subscribe|sign\s+up|enrol+)\s+(me|us)\b"
     + _NOT_TO_AN_ACTIVITY +
     # (not "I don't want to join as a member yet. Just the emails please" or "subscribe me to the
     # newsletter, I don't want to join yet": the mailing is asked for, the joining put off)
     r"|\b(do\s*n[o']?t|never)\s+(want|wish|intend|plan)\s+to\s+(subscribe|sign\s+up|join"
     r"(?!\s+as\s+a\s+(full\s+|paying\s+)?member|\s+yet\b)|be\s+added)"
     r"|\bnot\s+interested\s+in\s+(the|your|this|a|any)\s+(\w+\s+){0,1}(newsletter|list|mailing|"
     r"subscription|bulletin)"
     r"|\b(do\s+not|don\s*'?t|please\s+do\s+not)\s+reply\s+to\s+this\s+(email|message)"
     # "I don't subscribe to the theory that...": disagreeing, no list
     r"|\b(i|we)\s+(don't|do\s+not)\s+(really\s+)?subscribe\s+to\s+(the|that|this|your|his|her|their|any"
     r"|such)\s+([\w'-]+\s+){0,2}" + _OPINION),
    # agreeing with what was said ("I subscribe wholeheartedly to what your editorial said", "we
    # fully subscribe to that view"): an opinion, no list (not "can I subscribe to what you send?")
    (("subscribe",), r"(?<!\bcan\s)(?<!\bcould\s)(?<!\bmay\s)\b(i|we)\s+" + _FULLY
     + r"subscribe\s+" + _FULLY + r"to\s+(what\s+(you|your|he|she|they|the)\b|every\s+word|(the|that|this"
     r"|your|his|her|their)\s+([\w'-]+\s+){0,2}" + _OPINION + ")"),
    (("thank",), r"\bthank(s|\s+you)\s+for\s+(subscribing|signing\s+up|your\s+subscription|joining)"),
    (("your subscription",), r"\byour\s+subscription\s+(is|has\s+been)\s+(now\s+)?(active|confirmed|"
     r"activated)"),
    (("you're subscribed", "you are subscribed", "youre subscribed"),
     r"\byou\s*'?\s*(re|are)\s+(now\s+|currently\s+)?subscribed\s+to\b"),
    # a subscriber writing about what they have (a new address, an issue that did not come),
    # and mail about advertising in or sponsoring a newsletter, not asking to receive it
    (("estoy", "estamos", "subscribed", "subscriber", "me suscribi", "suscriptor"),
     r"(?<!\bno\s)(?<!\bnot\s)\b(ya\s+)?(estoy|estamos)\s+(suscrit[oa]s?|apuntad[oa]s?|inscrit[oa]s?|"
     r"dad[oa]s?\s+de\s+alta)\b"
     # "soy suscriptora", and a sentence that opens "como suscriptor del boletín, ..." / "as a
     # subscriber, ..." ("darme de alta como suscriptora", "sign up as a subscriber" ask)
     r"|(?<!\bno\s)\b(ya\s+)?(soy|somos)\s+(suscriptor|suscriptora|suscriptores|suscriptoras)\b"
     r"|(^|(?<=[.,;:!?\n]))\s*(como|as\s+an?)\s+([\w'-]+\s+)?(suscriptor|suscriptora|suscriptores"
     r"|suscriptoras|subscriber)\b"
     r"|(?<!think\s)(?<!\bthat\s)(?<!\bsure\s)\b(i\s*'?m|i\s+am|we\s*'?re|we\s+are)\s+(currently\s+|already\s+|"
     r"still\s+)?subscribed\b"
     r"|(?<!\bnot\s)\b(i\s*'?m|i\s+am|we\s*'?re|we\s+are)\s+(a|an)\s+([\w'-]+\s+)?subscriber\b"
     r"|\b(i|we)\s*('?ve|\s+have)\s+been\s+(subscribed|subscribers?)\b"
     r"|(?<!\bno\s)\bme\s+suscribi\b|(?<!\bnever\s)(?<!\btime\s)\bi\s+(already\s+)?subscribed\b"),
    (("advertis", "sponsor", "anunciar", "publicidad", "patrocin"),
     r"\b(advertis(e|ing)|sponsor(ing|ship)?)\s+(in|on|with)\b"
     # ("el proyecto que patrocinamos", what the writer sponsors, is about the writer)
     r"|\b(anunciar(me|nos|te|se)|anunciar\s+(mi|nuestr|el|la|un)|(?<!\bvi\sla\s)(?<!\bvi\ssu\s)publicidad\s+en|patrocin(?!amos\b)\w+)\b"),
    # something of the writer's to go *in* the newsletter (an announcement, an article, a
    # photo), not the newsletter to go to the writer ("include my address in the list" asks)
    (("include", "publish", "feature", "mention", "inclu", "publi", "difund", "mencion"),
     r"\b(include|publish|feature|mention|print|run)\s+(our|my|the|this|a|an|their|his|her)\s+"
     r"(?!(e-?mail|address|name|details|contact|team|colleagues?|staff|family|wife|husband|partner|"
     r"friends?|department|office|class|group|members|sons?|daughters?|kids|children|students|club|"
     r"company|school|mum|mom|dad|parents?)\b)([\w'-]+\s+){0,6}in\s+(the|your|this|next|a)\s+"
     r"(\w+\s+){0,2}(newsletter|bulletin|digest)"
     r"|\b(inclu|publi|difund|mencion)\w*\s+(nuestr|mi|el|la|los|las|este|esta|un|una)\w*\s+"
     r"(?!(correo|direccion|nombre|email|e-mail|datos|contacto|equipo|companer|familia|mujer|marido|"
     r"pareja|amig|departamento|oficina|clase|grupo|socios|hij|alumn|club|empresa|colegio|escuela|madre|"
     r"padre)\w*\b)([\w'-]+\s+){0,6}en\s+(el|su|vuestr|tu|"
     r"este|la)\w*\s+(\w+\s+){0,2}(boletin|newsletter)"),
]
_CUES = [(kind, [(gate, re.compile(phrase, re.MULTILINE)) for gate, phrase in table])
         for kind, table in (("cancellation", _CANCEL), ("not a request", _NOT_A_REQUEST))]


# a leaving told as a past mistake ("I unsubscribed by accident", "me di de baja sin querer",
# "clicked unsubscribe by mistake"): the writer reports it, so the cancellation cues do not
# read those words (they are blanked, so a cancellation asked for after them still counts)
_UNDONE_GATE = ("mistake", "accident", "error", "sin querer", "equivocacion")
_UNDONE = re.compile(
    r"\b(unsubscribed|un-subscribed|opted\s+out|clicked\s+(on\s+)?(the\s+)?\W?unsubscribe|"
    r"di\s+de\s+baja|dio\s+de\s+baja|he\s+dado\s+de\s+baja|desuscribi|desuscribio|"
    r"dessuscribi|desinscribi)\b[^.!?\n]{0,60}?"
    r"\b(by\s+(mistake|accident)|accidentally|in\s+error|sin\s+querer|por\s+(error|equivocacion))"
    r"|\b(accidentally|mistakenly)\s+(unsubscribed|opted\s+out|clicked\s+(on\s+)?(the\s+)?\W?unsubscribe)"
    # the mistake told first, then the link it hit ("le di sin querer al enlace de darse de baja")
    r"|\b(sin\s+querer|por\s+(error|equivocacion)|accidentally|by\s+(mistake|accident))\b[^.!?\n]{0,40}?"
    r"\b(enlace|link|boton|button)\b[^.!?\n]{0,40}?\b(baja|unsubscribe)\b"
    # ... or the leaving itself ("por error anulé mi suscripción")
    r"|\b(sin\s+querer|por\s+(error|equivocacion)|accidentally|by\s+(mistake|accident))\s+(me\s+)?"
    r"(anule|cancele|borre|quite|desuscribi|di\s+de\s+baja|cancell?ed|unsubscribed|deleted|removed)\b"
    r"[^.!?\n]{0,40}")
# asking to be put on a list, back or for the first time ("resubscribe me", "add me back",
# "¿me volvéis a meter?", "vuelvan a ponerme en la lista", "can you sign me up?",
# "suscribidme", "¿me añadís?", "quería suscribirme también"): a leaving or a "not a
# request" phrase told before the last such ask is about something past or something else
# ("I cancelled my magazine subscription, but can you sign me up?", "ya estoy suscrito al
# boletín, pero quería suscribirme también a los avisos"), so it is blanked too; one after it
# still counts ("¡me volvéis a apuntar sin permiso! Sacadme"), and a negation just before
# ("don't add me back", "no quiero suscribirme") makes it no such ask. The cues read it only
# in a mail that has a cue; ``asks_to_join`` (all but the asks to send again) only in a mail
# whose request the intent model doubts.
# the verbs of "put me on the list" after "a" / a modal ("volvedme a meter", "¿me pueden
# apuntar?"), and the modals themselves: one list for every ask that uses them
_JOIN_VERBS = r"(meter|apuntar|anadir|suscribir|incluir|agregar|poner)"
_JOIN = r"(" + _JOIN_VERBS + r"|dar\s+de\s+alta)"
_MODAL = r"(pueden|podeis|podrian|podriais|puedes|podes|podrias)"
# "I want", said to ask: the one list the asks "quiero reactivarla" and "deseo suscribir a mi
# hija" share
_WISH_ES = r"(quiero|quisiera|queremos|me\s+gustaria|nos\s+gustaria|deseo|deseamos|desearia)"
# "put me back on in April", "add me back after the summer", "put me back on the Monday after
# Easter": a pause told with its end, no ask now
_LATER_EN = r"(in|after|next|once|when|come|until|till)"
_NOT_LATER = r"(?!\s+(on\s+)?(the\s+)?(\w+\s+)?(from|" + _LATER_EN + r")\b)"
# as ``_NOT_LATER``, but "from this week", "from next week" are now ("start it up again from
# next week"); "from January" is later, and so is "then" ("start them up again then")
_SOON = r"(?!\s+(on\s+)?(the\s+)?((?!from\b)\w+\s+)?(then|" + _LATER_EN + r")\b)" \
    r"(?!\s+((?!from\b)\w+\s+)?from\s+(?!(this|next|tomorrow|today|now)\b))"
# "volved a", "vuelvan a", ... and "de nuevo", "otra vez", ...: the two halves of a Spanish
# "again", each kept once for the asks to be put back and to send again
_BACK_TO = r"\b(vuelvan|volved|vuelve|volve)\s+a\s+"
_AGAIN = r"(de\s+nuevo|otra\s+vez|nuevamente)"
# the same in Spanish, after the verb of an ask to be put back ("volved a ponerme en abril",
# "me volvéis a meter en la lista después del verano", "apuntadme de nuevo a partir de
# enero"): the rest of the verb, the list it names, "again", then a time to come ("cuando
# podáis" is no time: an ask now)
_MONTHS_ES = r"(enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre" \
    r"|noviembre|diciembre)"
# a time to come, in Spanish: the one list the two readings of a pause share (an ask put off
# to it, ``_NOT_LATER_ES``; a mail that asks for a pause, ``_PAUSE``)
_LATER_ES = r"(en\s+(" + _MONTHS_ES + r"|primavera|verano|otono|invierno|navidad|semana\s+santa" \
    r"|(el|la)\s+(proxim|siguient)\w*)" \
    r"|a\s+partir\s+del?|despues\s+del?|dentro\s+del?|mas\s+adelante|a\s+la\s+vuelta|al\s+volver" \
    r"|hasta\s+(que|el|la|nuevo|" + _MONTHS_ES + r")" \
    r"|el\s+(mes|ano|curso|trimestre|verano|otono|invierno)\s+que\s+viene|la\s+semana\s+que\s+viene" \
    r"|(el|la)\s+(proxim|siguient)\w*\s+(mes|ano|curso|trimestre|temporada|semana))"
_NOT_LATER_ES = r"(?!\w*\s+((en|a|al)\s+((la|el|los|las|vuestr\w*|su|sus|tu|tus)\s+)?(\w+\s+){0,2})?" \
    r"(" + _AGAIN + r"\s+)?" \
    r"(" + _LATER_ES + r"|tras|cuando\s+(?!(podais|puedan|puedas|podas|pueda|tengais|tengan|tengas)\b))\b)"
# what a mail is put back on, or on ("your email list", "the tournament mailing list"): one
# list for the two asks that name it
_ON_THE_LIST = r"(\w+\s+)?(list|mailing\s+list|newsletter|e-?mails|mail-?outs|updates|alerts)\b"
# an ask counts only when the words just before it neither negate it ("don't add me back",
# "no me suscribáis", "que deje de incluirme en los correos") nor put it off to later, to a
# condition or to a purpose ("luego ya me volvéis a meter", "then add me back", "I shall contact
# you when I wish to receive them", "si quiero suscribirme, ¿qué hago?", "ya os escribiré cuando
# la entregue para que me volváis a meter"), nor set it aside ("cancel it rather than resume it",
# "borradme en vez de volver a apuntarme")
# (an ask starts a word, so only the starts of words are tried: the ends are half the positions)
_ASKED_NOW = r"\b(?=[\w'])(?<!\bno\s)(?<!n't\s)(?<!\bnot\s)(?<!\bnever\s)(?<!\bno\sme\s)(?<!\bno\snos\s)" \
    r"(?<!\bno\slo\s)(?<!\bno\sla\s)(?<!\bno\slos\s)(?<!\bno\slas\s)" \
    r"(?<!\bdeje\sde\s)(?<!\bdejen\sde\s)(?<!\bdejes\sde\s)(?<!\bdejeis\sde\s)(?<!\bdejad\sde\s)" \
    r"(?<!\bdejar\sde\s)(?<!\bdejas\sde\s)(?<!\bdejan\sde\s)" \
    r"(?<!\bluego\s)(?<!\bluego\sya\s)(?<!\bdespues\s)(?<!\bdespues\sya\s)(?<!\bthen\s)(?<!\blater\s)" \
    r"(?<!\bwhen\s)(?<!\bif\s)(?<!\bonce\s)(?<!\bcuando\s)(?<!\bsi\s)" \
    r"(?<!\bpara\sque\s)(?<!\bhasta\sque\s)(?<!\bso\sthat\s)(?<!\buntil\s)(?<!\bso\syou\scan\s)" \
    r"(?<!\brather\sthan\s)(?<!\ben\svez\sde\s)" \
    r"(?<!\bwhen\sto\s)(?<!'ll\s)(?<!\bwill\s)(?<!\bshall\s)"  # "I'll sign up again": a promise
_JOIN_ASKS = (
    r"\b(re-?subscribe|re-?add|re-?enrol+|re-?instate)\s+(me|us|my|this)\b"
    # (not "I'll come back and subscribe again": a promise, as "I'll" before any ask)
    r"|(?<!\bback\sand\s)\b(subscribe|sign\s+up|rejoin|re-?join|join)\s+again\b" + _NOT_LATER +
    r"|\b(be|get)\s+(put|added)\s+back\b" + _NOT_LATER +
    r"|\b(be|get|go)\s+back\s+on\s+(to\s+)?(your|the|our|this|that)\s+" + _ON_THE_LIST + _NOT_LATER +
    r"|\b(turn|switch)\s+(them|it|those|these)\s+back\s+on\b|\brestore\s+(my|our|this)\s+(address|e-?mail|subscription)\b"
    r"|\b(subscribe|sign|add|put)\s+(me|us)\s+((?!off\b|out\b)\w+\s+){0,2}(again|back)\b" + _NOT_LATER +
    # (not "add me back ...": the branch above reads it, with its time to come)
    r"|(?<!\bto\s)(?<!un-)\b(add|sign|subscribe|enrol+|include)\s+(me|us)\b(?!\s+(off|out|back|again)\b)"
    r"|\b(add|subscribe|include)\s+this\s+(new\s+|other\s+|personal\s+)?(address|e-?mail|one)\b"
    r"|\bsign\s+this\s+(new\s+)?(address|e-?mail)\s+up\b"
    # "would love to be on your email list", "any chance of getting on your emails?"; not "how
    # my address came to be on your list"
    r"|(?<!\bcame\s)(?<!\bcome\s)\b(to\s+be|to\s+get|getting)\s+on\s+(to\s+)?(your|the)\s+"
    + _ON_THE_LIST + _NOT_LATER +
    # "subscribing to your newsletter so I stop missing...", not "a fee for subscribing to it"
    r"|(?<!\bfor\s)(?<!\bbefore\s)(?<!\bafter\s)(?<!\babout\s)(?<!\bof\s)(?<!\bwithout\s)(?<!\bby\s)"
    r"(?<!\bwas\s)(?<!\bwere\s)\bsubscribing\s+(to|for)\s+(your|the)\b"
    r"|\bstart\s+sending\s+(\w+\s+){0,4}again\b"
    # "please start sending them to me" (not "please start sending it in March": a pause's end)
    r"|\bplease\s+start\s+sending\b" + _SOON +
    # "please start the monthly socks again" (not "start again in March": a pause's end)
    r"|\bplease\s+start\s+(\w+\s+){0,4}again\b" + _SOON +
    # "please resume them now", "start us back up from next week": a pause ended (not "from
    # January": for later; in a mail that asks for a pause, its end: ``_PUT_BACK``)
    r"|\bresume\s+(it|them|my|our|the|delivery|deliveries)\b" + _SOON
    + r"|\bstart\s+(us|me)\s+(back\s+up|up\s+again)\b" + _SOON +
    # "start 'em up again", "please start my subscription up again", "please restart it"
    # (not "you can start them up again then", "I'll email you ... to start it up again": later)
    r"|(?<!\bto\s)\bstart\s+(it|them|'em|my|our)\s+((?!up\b)[\w'-]+\s+){0,2}up\s+again\b" + _SOON +
    r"|(?<!\bto\s)\brestart\s+(it|them|my|our)\b" + _SOON +
    r"|\b(love|like|want)\s+to\s+(get|receive)\s+(\w+\s+){0,4}again\b" + _NOT_LATER +
    r"|\b(volved|vuelvan|vuelva|vuelve|volve)(me|nos)?\s+a\s+" + _JOIN + _NOT_LATER_ES +
    r"|" + _BACK_TO + r"(ponerme|ponernos|suscribir|apuntar|incluir|anadir|agregar|meter|activar"
    r"|darme\s+de\s+alta|darnos\s+de\s+alta)"
    + _NOT_LATER_ES +
    r"|\b(me|nos|le|la|lo)\s+" + _MODAL + r"\s+reactivar\b"
    # "me gustaría reactivarla con las mismas condiciones"
    r"|\b" + _WISH_ES + r"\s+reactivar(la|lo|las|los)?\b"
    r"|\breactiv(en|ad)(me|nos|la|lo)?\b|\b(me|nos|la|lo)\s+(reactivais|reactivan|reactivas)\b"
    r"|\b" + _MODAL + r"\s+reactivar\s+(la|el|mi|nuestra|nuestro|su)\b"
    r"|\b(ruego|rogamos|solicito|solicitamos)\s+(reanudar|reactivar)\b"
    # "quisiera añadir también la edición impresa": a second edition of what the writer has
    r"|\b" + _WISH_ES + r"\s+(anadir|agregar|sumar)\s+(tambien\s+)?(la|el)\s+(edicion|version)\b"
    r"|\b(would|'d)\s+(also\s+)?like\s+the\s+(print|printed|paper|digital|online|e-?mail)\s+(one|edition|version"
    r"|copy)\s+(as\s+well|too)\b"
    r"|\b(quiero|quisiera|queria|deseo|desearia|deseariamos|me\s+gustaria|(me|nos)\s+interesa)\s+volver"
    r"\s+a\s+recibir"
    r"|\b(solicito|solicitamos|solicitar|pido|pedimos|pedir)\s+(" + _AGAIN + r"\s+)?(el|mi|nuestra)\s+alta\b"
    r"|\b(vuelvo|volvemos)\s+a\s+(suscribirme|apuntarme|suscribirnos|apuntarnos|darme\s+de\s+alta"
    r"|hacerme\s+soci|hacernos\s+soci|ser\s+soci)"
    # "me vuelvo a hacer socio" (not "igual en un año me vuelvo a suscribir": a promise, which
    # the present tense tells as often as an ask)
    r"|\b(me|nos)\s+(vuelvo|volvemos)\s+a\s+hacer\s+soci"
    # not the old letter closing "me suscribo (de usted) atentamente"
    r"|\b(me\s+suscribo|nos\s+suscribimos)\b(?!\s+(de\s+(usted|ustedes|vd|vds)\b|(muy\s+)?atentamente"
    r"|cordialmente))"
    r"|\b(me|nos)\s+(volveis|vuelven|vuelves|volves|vuelvan|vuelvas|volvais|" + _MODAL
    + r"\s+volver)\s+a\s+" + _JOIN + _NOT_LATER_ES +
    r"|\b(me|nos)\s+(quiero|queremos|quisiera|gustaria|encantaria)\s+volver\s+a\s+" + _JOIN + _NOT_LATER_ES +
    r"|\b(me|nos)\s+(la|lo|las|los)\s+(volveis|vuelven|vuelves|volves|vuelvan|volvais)\s+a\s+(re)?activar\b"
    + _NOT_LATER_ES +
    r"|\bcan\s+(i|we)\s+(re-?subscribe|re-?join|sign\s+up\s+again|subscribe\s+again)\b" + _NOT_LATER +
    r"|\b(wanna|want\s+to|wants\s+to)\s+(re-?subscribe|re-?join|re-?enrol+)\b" + _NOT_LATER +
    # "the results go on another list, put me on that one too"; "put me on the newsletter" (not
    # ``_ON_THE_LIST``, whose bare "list" would take "put me on the waiting list" for an ask)
    r"|\bput\s+(me|us)\s+on\s+(that|this)\s+one\b|\bput\s+(me|us)\s+on\s+(the|your)\s+([\w'-]+\s+){0,3}"
    r"(mailing|newsletter|e-?mails?|alerts|bulletin)\b" + _NOT_LATER +
    r"|\bvolver\s+a\s+(apuntarme|suscribirme|suscribirse|ser\s+soci[oa]s?|darme\s+de\s+alta|anadirme|meterme"
    r"|incluirme|agregarme|tenerla|tenerlo|recibirla|recibirlo"
    r"|estar\s+(suscrit|apuntad|inscrit|en\s+la\s+lista)|figurar\s+en\s+la\s+lista)"
    # (not "ya me suscribiré otra vez": a promise for later)
    r"|\b(suscrib|apunt|mete|met|anad|agreg|inclu|pong|dar\s+de\s+alta)(?!\w*(re|remos|ria|riamos)\b)\w*\s+(\w+\s+){0,3}"
    + _AGAIN + r"\b"
    + _NOT_LATER_ES +
    r"|\b(suscrib(id|e|an|a|i)|apunt(ad|a|en|e)|anot(ad|a|en|e)|sum(ad|a|en|e)|anad(id|e|an|a)|agreg(ad|a)"
    r"|agregu(en|e)|inclu(id|ye|yan|ya)|met(ed|an|a|e)"
    r"|pon(ed|gan|ga|e)?)(me|nos)\b" + _NOT_LATER_ES +
    # "dadme de alta otra vez"; "suscríbanlo", someone else's sign-up
    r"|\b(dad|den|da|de)(me|nos)\s+de\s+alta\b" + _NOT_LATER_ES +
    r"|\bsuscrib(id|an|a|e)(lo|la|los|las)\b" + _NOT_LATER_ES +
    # "añádanmelo", "agréguenmelos": to add it (a newsletter named before) for the writer
    r"|\b(anad(id|e|an|a)|agreg(ad|a)|agregu(en|e)|inclu(id|ye|yan|ya))(me|nos)(lo|la|los|las)\b"
    + _NOT_LATER_ES +
    r"|\b(apunt|anot|agreg|inclu|anad|suscrib|inscrib)\w*\s+(este|mi|nuestro)\s+(correo|mail|e-?mail|direccion)\b"
    r"|\b(incluir|anadir|agregar|apuntar|inscribir|meter|poner|sumar)(me|nos)\s+(en|a)\s+(la|las|el|los|su|sus"
    r"|vuestr\w*)\s"
    r"|\b(me|nos)\s+(suscribis|suscriben|suscribes|apuntais|apuntan|apuntas|anadis|anaden|anades|"
    r"agregais|agregan|agregas|incluis|incluyen|ponen|poneis|suman|sumais)\b"
    r"|\b(me|nos)\s+" + _MODAL + r"\s+" + _JOIN + r"\b"
    # "¿podéis suscribir también a mi hermano?": someone else's sign-up, asked by the writer
    r"|\b" + _MODAL + r"\s+" + _JOIN + r"\s+(tambien\s+)?a\s+(mi|mis|nuestr[oa]s?)\s"
    r"|\b" + _MODAL + r"\s+" + _JOIN_VERBS + r"(me|nos)\b"
    r"|\b(would|'d|i|should)\s+(also\s+|now\s+|really\s+|very\s+much\s+)?(like|love|want|wanted|wish)\s+to\s+(also\s+)?"
    r"((re-?)?subscribe|sign\s+up|join|become\s+a\s+member|receive"
    r"|recieve|start\s+(getting|receiving))\b"
    # "I'd like to get the daily morning briefing as well" (not "I'd like to get the refund for
    # the newsletter"): to get, said of what a list sends
    r"|\b(would|'d|i|should)\s+(also\s+|now\s+)?(like|love|want|wish)\s+to\s+(also\s+)?get\s+(the|your)\s+"
    r"((?!(for|of|about|on|in|with|from)\b)[\w'-]+\s+){0,3}(newsletter|bulletin|briefing|digest|e-?mails"
    r"|updates|alerts|mail-?outs)\b"
    # "subscribe my personal address now", not "add my address to your records"
    r"|\bsubscribe\s+my\s+(new\s+|other\s+|personal\s+|work\s+|home\s+)?(e-?mail\s+)?(address|e-?mail)\b"
    r"|\brequest\s+(a\s+)?subscription\b"
    # "upgrade me to premium": the paid tier of a list the writer is on, asked for
    r"|\bupgrade\s+(me|us)\s+to\b"
    r"|\b(like|love|want|wish)\s+to\s+become\s+a\s+subscriber\b"
    r"|\btake\s+(me|us)\s+back\b(?!\s+off\b)" + _NOT_LATER +
    r"|\b(me|nos)\s+(reincorporais|reincorporan|reincorporas|reincorporen|reincorporeis)\b" + _NOT_LATER_ES +
    r"|\breincorpor(ad|en|e|a)(me|nos)\b" + _NOT_LATER_ES +
    r"|\b(den|dad|de|des|dar|denle|dele)\s+de\s+alta\s+(este|esta|mi|nuestro|nuestra)\s+(correo|mail|e-?mail"
    r"|direccion|cuenta|suscripcion)\b"
    # "les ruego que la den de alta" (not "no quiero que me den de alta": no ask starts after "no")
    r"|\b(ruego|rogamos|pido|pedimos|solicito|solicitamos|quiero|quisiera|queremos|deseo|desea|deseamos)"
    r"\s+que\s+(me|nos|la|lo|le|les)\s+(den|de|des|deis)\s+de\s+alta\b"
    # "les ruego que me suscriban" (not "que me incluyan": in a waiting list as often)
    r"|\b(ruego|rogamos)\s+que\s+(me|nos)\s+(tambien\s+)?(suscriban|suscribais)\b"
    r"|\benrol+\s+(my|our|this)\s+(e-?mail\s+)?address\b"
    r"|\b(like|love|want|wish)\s+to\s+restart\s+(it|my|our|the|this)\b" + _NOT_LATER +
    r"|\brequest\s+that\s+(my\s+(e-?mail\s+)?address|i|we|this\s+(e-?mail\s+)?address)\s+(be|is)\s+"
    r"(subscribed|added)\b"
    # one wish, said with any of its verbs: to be signed up, to become a member, to receive it
    r"|\b(quiero|quisiera|queria|queremos|me\s+gustaria|nos\s+gustaria|me\s+encantaria|deseo|deseamos"
    r"|desearia)\s+(ahora\s+|tambien\s+)?"
    r"((re-?)?su(b)?s?cri[bv]ir(me|nos)|apuntarme|apuntarnos|ser\s+soci[oa]s?\b|hacerme\s+soci[oa]\b"
    r"|hacernos\s+soci[oa]s\b|ingresar\s+(\w+\s+){0,2}como\s+soci[oa]s?\b|recibir\b)"
    # "deseo suscribir también a mi hija": someone else's sign-up, asked by the writer
    r"|\b" + _WISH_ES + r"\s+"
    r"(ahora\s+|tambien\s+)?su(b)?s?cribir\s+(tambien\s+)?a\s+(mi|mis|nuestr[oa]s?)\s"
    # "quiero que me pongáis en la lista de envío" (not after "no": ``_ASKED_NOW``)
    r"|\b(quiero|queremos|quisiera|quisieramos)\s+que\s+(me|nos)\s+(tambien\s+)?(pongais|pongan|apunteis"
    r"|apunten|anadais|anadan|incluyais|incluyan|agregueis|agreguen|metais|metan|suscribais|suscriban"
    r"|anoteis|anoten|sumeis|sumen)\b"
    # a delivery resumed, or the writer counted as a member again ("reanudad los envíos",
    # "ya he vuelto, así que pueden reanudarla desde este mes", "volved a contarme entre los
    # socios"; in a mail that asks for a pause, its end: ``_PUT_BACK``)
    r"|\breanud(ad|en)(la|lo|las|los)?\b|\b" + _MODAL + r"\s+reanudar(la|lo|las|los)?\b"
    r"|\b(volved|vuelvan|vuelva)\s+a\s+contar(me|nos)\s+(entre|como)\b|\bcontad(me|nos)\s+(entre|como)\b"
    # "would like to be re-subscribed", "un-pause my box", "reactivate it"
    r"|\b(to\s+be|be|get|getting)\s+re-?(subscribed|added|instated|enrol+ed)\b"
    r"|\bun-?pause\s+(it|my|our|the|this)\b|\b(like|want|need)\s+(it|them)\s+un-?paused\b"
    r"|\breactivate\s+(it|my|our|me|us|this)\b"
    # someone else's sign-up asked for ("mi hermana quiere la suya: dadle de alta")
    r"|\b(dadle|denle|dadla|denla|dale|dala)\s+de\s+alta\b"
    r"|\b(solicito|solicitamos|solicita|pido|pedimos)\s+(la|mi|nuestra|una)\s+(suscripcion|inscripcion"
    r"|alta|reincorporacion)\b")
# "vuelvan a mandármelos", "¿me lo podéis mandar otra vez?", "ya podéis volver a mandármela":
# after a leaving, an ask to be put back; alone, as often an ask to send one issue again ("el
# PDF no abre, ¿me lo mandan de nuevo?"), so it confirms no request (``asks_to_join``)
_RESEND_ASKS = _BACK_TO + r"(mandar|enviar)|\b(mand|envi)\w*\s+(\w+\s+){0,3}" + _AGAIN + r"\b" \
    r"|\b" + _MODAL + r"\s+volver\s+a\s+(mandar|enviar)(me|nos)(la|lo|las|los)?\b"
_ASK = re.compile(_ASKED_NOW + "(" + _JOIN_ASKS + "|" + _RESEND_ASKS + ")")
_JOIN_ASK = re.compile(_ASKED_NOW + "(" + _JOIN_ASKS + ")")
# "¿me la podéis volver a mandar?": after a leaving told as past ("me dieron de baja porque el
# correo rebotaba"), an ask to be put back; without one, as often a lost issue asked for again
# by a subscriber ("soy suscriptora, me la pueden volver a mandar?"), so only ``veto_cue``'s
# look at past leavings reads it
_SEND_AGAIN = re.compile(_ASKED_NOW + r"\b(me|nos)\s+(la|lo|las|los)\s+" + _MODAL
                         + r"\s+volver\s+a\s+(mandar|enviar)\b")


# a pause: a leaving for a while, with the ask to be put back for later, however that later
# is told ("please cancel my subscription for now ... I'll be in touch to be put back on",
# "cuando vuelva en junio ya me volvéis a meter", "take me off for the winter ... add me back
# in April"); the ask then clears no leaving told before it, unless the leaving is told as a
# thing of the past (``_PAST_LEAVING``: "I unsubscribed back in March when I moved ... please
# subscribe me again", "en verano os pedí que me sacarais de la lista")
_PAUSE = re.compile(
    r"\b(for\s+now|for\s+the\s+(time\s+being|moment|winter|summer|season)|for\s+a\s+(while|bit|few)"
    r"|temporar\w*|until|till|when\s+(i|we)\s*('m|'re|am|are|get|come)\s+back|let\s+you\s+know\s+when"
    r"|when\s+(i|we|it)\s+(reopen|return)\w*"
    r"|be\s+in\s+touch|por\s+ahora|de\s+momento|por\s+el\s+momento|mientras\s+tanto|un\s+tiempo"
    r"|una\s+temporada|temporal\w*|" + _LATER_ES +
    r"|cuando\s+(vuelva|volvamos|regrese|termine|acabe|pase|nazca|empiece)|si\s+algun\s+dia"
    r"|si\s+(vuelvo|volvemos|regreso|regresamos)\b"
    r"|if\s+(i|we)\s+ever\b"
    # a return told as a maybe ("a lo mejor vuelvo a suscribirme", "maybe I'll rejoin")
    r"|(a\s+lo\s+mejor|quizas?|tal\s+vez)\s+(me\s+|nos\s+)?(vuelv|volv|regres)\w*"
    r"|(maybe|perhaps)\s+(i|we)\s*('ll|\s+will|\s+might|\s+could|\s+would)?\s+(come\s+back|be\s+back|rejoin"
    r"|re-?join|re-?subscribe|return|sign\s+up\s+again|subscribe\s+again)"
    r"|ya\s+(os|les)\s+(escribire|avisare|dire)|(os|les)\s+(escribo|aviso)"
    r"|(in|from|after|come)\s+(january|february|march|april|may|june|july|august|september|october"
    r"|november|december|spring|summer|autumn|fall|winter)"
    r"|during\s+(the\s+)?([\w'-]+\s+)?(season|summer|winter|holidays|exams|harvest|lent|ramadan)"
    r"|durante\s+(la|el|los|las)\s+(\w+\s+)?(temporada|verano|invierno|vacaciones|examenes|cosecha|zafra"
    r"|cuaresma|ramadan))\b")
_PAST_LEAVING = re.compile(
    r"\b(unsubscribed|un-subscribed|opted\s+out|cancell?ed|(i|we)\s+(asked|requested|wrote|left|paused)"
    r"|(was|were|got|been)\s+(removed|taken\s+off|dropped|unsubscribed)|took\s+(me|myself|us)\s+off"
    r"|by\s+(mistake|accident)|accidentally|sin\s+querer|por\s+error|pedi|pedimos|regret\w*|arrepent\w*"
    r"|(me|nos|se)\s+(di|dimos|dio|dieron)\s+de\s+baja|(me|nos)\s+(desuscribi|desuscribimos|borre|borramos"
    r"|quite|quitamos|sali|salimos|sacaron|quitaron|borraron)|deje\s+de\s+recibir|cancele|anule"
    r"|(deje|dejamos)\s+en\s+pausa|(les|os|le)\s+solicite)\b")


# what a list is called in a mail: an ask to be put on "it" confirms a request only if the
# mail names one ("apuntadme al taller", "sign me up for the course" name none)
_LIST = re.compile(r"su(b)?s?cri|subscr|newsletter|boletin|\blistas?\b|\blists?\b|mailing|bulletin"
                   r"|\balerts\b|\bavisos\b|e-?news|\bupdates\b|\be-?mails\b|\bmails\b|\bcorreos\b")


# an ask to be put *back* on a list (not a first one: back, again, volver, re-subscribe,
# reactivar, resume, reanudar): in a mail that asks for a pause it is for the pause's end,
# however that end is told before it, unless the writer is back now
# ("volví de Canadá después de tres años", "I'm back in Shillong for good now")
_PUT_BACK = re.compile(r"\b(back|again|volv\w*|vuelv\w*|" + _AGAIN + r"|re-?(subscri|add|enrol|instate|join"
                       r"|incorpor)\w*|reactiv\w*|resum\w*|reanud\w*)\b")
_BACK_NOW = re.compile(r"(?<!\bwhen\s)(?<!\bonce\s)(?<!\bif\s)(?<!\bcuando\s)(?<!\bsi\s)"
                       r"\b(volvi|volvimos|regrese|regresamos|(ya\s+)?(estoy|estamos)\s+de\s+vuelta"
                       r"|(i\s*'?m|i\s+am|we\s*'?re|we\s+are)\s+back|(i|we)\s+(moved|came|got)\s+back)\b")


# a sentence that tells a leaving as past, from that telling on ("dejé de recibir la programación
# cuando cambié de mail", "hace meses pedí que me sacaran de su lista porque..."): in a mail that
# asks to be put on a list, wherever the ask stands, such a leaving is what happened, not what is
# asked (``veto_cue``); an ask after it already clears it (``_before_ask_blanked``)
_PAST_SENTENCE = re.compile("(" + _PAST_LEAVING.pattern + r")[^.!?\n]*")


def _past_leavings_blanked(read: str) -> str:
    """``read`` with each sentence's leaving told as past blanked to the sentence's end (same length)."""
    return _PAST_SENTENCE.sub(lambda m: " " * (m.end() - m.start()), read)


def _asks_for_pause(read: str) -> bool:
    """Whether the mail asks for a pause (``_PAUSE``) that is not over: no leaving told as past
    (``_PAST_LEAVING``), the writer not back now (``_BACK_NOW``). Both readings of a pause call
    it: the ask that clears no leaving before it, and the ask to be put back that is for later."""
    return bool(_PAUSE.search(read)) and not _PAST_LEAVING.search(read) and not _BACK_NOW.search(read)


def asks_to_join(text: str) -> str | None:
    """The words of an ask to be put on a list in ``text`` (a mail's ``model_text``), or None.

    The asks are ``_ASK``'s but those to send something again (the same phrases that make an
    earlier cue a thing of the past), counted only in a mail that names a list, and an ask to
    be put back not in a mail that asks for a pause (``_PUT_BACK``). This never vetoes and
    never answers alone: ``classify`` lets it make up for an intent model's doubt.
    """
    folded = _cue_text(text)
    if not _LIST.search(folded):
        return None
    found = _JOIN_ASK.search(folded)
    if found is None:
        return None
    words = " ".join(found.group(0).split())
    if _PUT_BACK.search(words) and _asks_for_pause(folded):
        return None  # a pause: to be put back at its end ("cuando vuelva ... y me volvéis a meter")
    return words


def _holds_any(read: str, gate: tuple[str, ...]) -> bool:
    """Whether ``read`` holds one of ``gate``'s words (a loop: ``any()`` over a generator
    costs more than the look-ups, and this runs some thirty times on every request)."""
    for word in gate:  # noqa: SIM110 (the reason is above)
        if word in read:
            return True
    return False


def _without_undone(folded: str) -> str:
    """``folded`` with each leaving told as a past mistake blanked (same length)."""
    if not _holds_any(folded, _UNDONE_GATE):
        return folded
    return _UNDONE.sub(lambda m: " " * (m.end() - m.start()), folded)


def _before_ask_blanked(read: str, *, leaving: bool) -> str:
    """``read`` with all before its last ask to be put on a list blanked (same length),
    unless what it would blank is a ``leaving`` and the mail asks for a pause (``_asks_for_pause``):
    then nothing is blanked."""
    back = max((m.start() for m in _ASK.finditer(read)), default=0)
    if back and leaving and _asks_for_pause(read):
        return read
    return " " * back + read[back:]


def _first(table: list[tuple[tuple[str, ...], re.Pattern[str]]], read: str) -> str | None:
    """The words of the first phrase of ``table`` found in ``read``, or None."""
    for gate, pattern in table:
        if _holds_any(read, gate):
            found = pattern.search(read)
            if found:
                return " ".join(found.group(0).split())
    return None


def veto_cue(text: str) -> tuple[str, str] | None:
    """(kind, the words found) of the first cue in ``text`` (a mail's ``model_text``), or None."""
    folded = _cue_text(text)
    for kind, table in _CUES:
        read = _without_undone(folded) if kind == "cancellation" else folded
        words = _first(table, read)
        if words is not None:  # only then (rare): is it told before an ask to be put on a list?
            read = _before_ask_blanked(read, leaving=kind == "cancellation")
            words = _first(table, read)
        # (rarer): or told as past, beside such an ask? The look for a past leaving is the
        # cheap one, so the long ask pattern runs only in the few mails that tell one
        if words is not None and kind == "cancellation" and _PAST_LEAVING.search(read) \
                and (_JOIN_ASK.search(read) or _SEND_AGAIN.search(read)) and not _asks_for_pause(read):
            words = _first(table, _past_leavings_blanked(read))
        if words is not None:
            return kind, words
    return None
