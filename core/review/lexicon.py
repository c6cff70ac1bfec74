"""The words the problem rules look for, already normalized (lower case, no accents,
abbreviations expanded; see core.review.detection.normalize).

Written from how pt-BR customers and bots write in general (families of verbs and nouns,
not sentences copied from any data set), so that a new wording of the same thing is
still caught: "não consigo verificar / consultar / confirmar ...", "quero falar com o
farmacêutico / a dona / um corretor ...".
"""
from __future__ import annotations

import re

# --- the bot could not find / do it ------------------------------------------------------

FALLBACK = (
    "nao encontrei", "nao consegui encontrar", "nao tenho essa informacao",
    "nao tenho esta informacao", "nao tenho informacoes", "nao tenho informacao",
    "nao possuo essa informacao", "nao possuo informacoes", "nao sei responder",
    "nao sei informar", "nao sei dizer", "nao entendi", "nao compreendi",
    "nao consigo responder", "nao consigo ajudar com isso", "sem informacoes sobre",
    "nao tenho como responder", "nao sei te responder", "pode reformular",
)
_NAO_CONSIGO = r"nao (?:consigo|consegui|conseguimos|conseguiria|tenho como|temos como|sei|saberia|" \
               r"posso|pude|podemos|foi possivel|e possivel|estou conseguindo)"
_VERIFICAR = r"(?:verificar|consultar|confirmar|acessar|informar|dizer|responder|localizar|" \
             r"encontrar|achar|entender|compreender|ajudar|ver|checar|identificar|saber|" \
             r"precisar|afirmar|passar|buscar|dar)"
_INFORMACAO = r"(?:acesso|dados|informac\w*|detalhes|precos|valores|registro|como (?:saber|ver))"
FALLBACK_REGEX = re.compile("|".join((
    rf"\b{_NAO_CONSIGO}(?: \w+){{0,2}} {_VERIFICAR}\b",
    rf"\bnao (?:tenho|possuo|temos|encontrei|encontramos)(?: \w+){{0,3}} {_INFORMACAO}\b",
    r"\b(?:informac\w*|dados|isso) nao (?:esta|estao|estava|ficam?) disponive(?:l|is)",
    r"\bnao (?:encontrei|localizei|achei|entendi|compreendi|identifiquei)\b",
    r"\bnao sei (?:se|qual|quais|quanto|quando|onde|como|te|lhe|o que)\b",
    r"\b(?:informac\w*|dados|isso) (?:\w+ ){0,2}nao (?:tenho|possuo|sei|encontrei|consigo)\b",
    r"\bnao tenho (?:a|o|as|os|essa|esse|essas|esses|acesso|como)\b",
    r"\bsem acesso (?:a|ao|as|aos)\b",
    r"\bfoge (?:do que|das minhas)",
)))

# --- generic text that answers nothing ---------------------------------------------------

VAGA = (
    "posso ajudar com varias coisas", "varias opcoes disponiveis", "fique a vontade para perguntar",
    "cada caso e um caso", "obrigado pela mensagem", "consulte nossos canais",
    "otima pergunta", "estamos sempre trabalhando", "para mais informacoes consulte",
    "entre em contato com nossos canais", "depende de varios fatores", "depende de cada caso",
    "estamos a disposicao", "temos varias opcoes",
)
# Marketing fluff: praise of the business, its range or its care, invitations to look
# elsewhere. A reply to a question made of this and no fact (number, list) answers nothing.
GENERICO_FRASES = (
    "fique a vontade", "entre em contato", "estamos aqui", "estamos sempre", "conte com",
    "conte sempre", "a sua disposicao", "a disposicao", "sempre prontos", "cada caso",
    "cada situacao", "cada veiculo", "cada pessoa", "pode variar", "podem variar", "os valores variam",
    "depende de", "venha conferir", "venha nos", "visite nossa", "visite nosso", "confira nosso",
    "confira nossa", "confira nossos", "confira nossas", "agradecemos o seu contato",
    "agradecemos seu contato", "agradecemos o contato", "obrigado pelo contato",
    "obrigado por entrar em contato", "preco justo", "com muito carinho", "com muito amor",
    "todo o carinho", "todo carinho", "todos os tipos", "para todos os gostos", "melhor atender",
    "melhores condicoes", "melhores marcas", "melhores precos", "melhor atendimento",
    "da melhor forma", "o que voce precisar", "o que precisar", "muitas opcoes", "muitas delicias",
    "linha completa", "somos especialistas", "especializada em", "especializado em",
    "analisada individualmente", "analisado individualmente", "boas festas",
)
GENERICO_PALAVRAS = (
    "diversos", "diversas", "varios", "varias", "inumeros", "inumeras", "incriveis", "excelencia",
    "humanizado", "humanizada", "qualidade", "carinho", "selecionados",
)

# --- the customer is angry --------------------------------------------------------------

IRRITADO_FRASES = (
    "nao responde", "nao entende", "nao resolve", "ninguem resolve", "nao ajuda", "nao ajudou",
    "ja perguntei", "ja falei", "ja disse", "reclame aqui", "que demora", "to esperando",
    "estou esperando", "falta de respeito", "que droga", "nao serve para nada",
    "servico horrivel", "atendimento horrivel", "atendimento ruim", "chatbot ruim", "robo ruim",
    "que saco", "vou reclamar", "vou processar", "procon", "falta de consideracao",
    "falta de cuidado", "falta de atencao", "mal feito", "mal feita", "nunca mais", "ultima vez",
    "ninguem merece", "ninguem responde", "ninguem me", "nem le", "nao le", "que piada",
    "piada de", "sempre a mesma", "que inferno", "que nojo", "cansado de", "cansada de",
    "nao aguento", "estou cansado", "estou cansada", "muito chateado", "muito chateada",
    "perdi meu tempo", "perda de tempo", "ja expliquei", "ja descrevi", "ja mandei",
    "servico porco", "que servico", "pouca vergonha", "que bagunca",
)
IRRITADO_PALAVRAS = (
    "pessimo", "pessima", "horrivel", "inutil", "absurdo", "ridiculo", "ridicula", "lixo",
    "palhacada", "vergonha", "descaso", "affs", "aff", "irritado", "irritada", "decepcionado",
    "decepcionada", "porcaria", "reclamar", "reclamacao", "indignado", "indignada",
    "inadmissivel", "inaceitavel", "vergonhoso", "vergonhosa", "desrespeito", "sacanagem",
    "roubo", "insatisfeito", "insatisfeita", "chateado", "chateada", "revoltado", "revoltada",
    "burro", "burra", "inferno", "af", "humilhante", "enganacao", "irresponsavel",
    "irresponsaveis", "incompetente", "incompetentes", "incompetencia", "bagunca", "amador",
    "amadorismo", "desorganizacao", "desorganizado", "desorganizada",
)
IRRITADO_EMOJIS = ("😡", "😤", "🤬", "😠", "👎", "🙄", "😒", "😑", "🤦")

# --- the customer wants a person --------------------------------------------------------

HUMANO = (
    "atendente", "humano", "humana", "pessoa de verdade", "alguem de verdade", "pessoa real",
    "falar com uma pessoa", "falar com alguem", "chama alguem", "chamar alguem",
    "gerente", "operador", "operadora", "atendimento humano", "falar com o dono",
    "ser humano", "uma pessoa", "carne e osso", "nao quero robo", "nao com robo",
)
# Someone who works there, asked for by role: with a request verb it is a hand-over request.
PAPEIS = (
    "atendente", "humano", "humana", "pessoa", "alguem", "responsavel", "dono", "dona",
    "gerente", "gerencia", "supervisor", "supervisora", "farmaceutico", "farmaceutica",
    "medico", "medica", "doutor", "doutora", "veterinario", "veterinaria", "corretor",
    "corretora", "vendedor", "vendedora", "mecanico", "recepcao", "recepcionista",
    "confeiteiro", "confeiteira", "personal", "cabeleireiro", "cabeleireira", "operador",
    "operadora", "funcionario", "funcionaria", "consultor", "consultora",
)
PEDIDO_VERBOS = (
    "falar", "conversar", "atendimento", "atender", "atendido", "atendida", "passa", "passar",
    "coloca", "colocar", "transfere", "transferir", "chama", "chamar", "liga", "ligar", "contato",
    "resolver", "retorna", "retornar", "responder", "quero", "preciso", "prefiro",
)
# "falar com ..." anyone but the bot itself, or "me liga": a person is asked for.
HUMANO_REGEX = re.compile(
    r"\b(?:falar|falo|fala|conversar|converso|conversa) com (?!voce\b|voces\b|o bot\b|o robo\b)"
    r"|\b(?:me|pra me|para me) (?:liga|ligar|liguem|ligue|retorna|retornar|retornem)\b")

# The bot handed the customer over (phone, e-mail, team): the request was served.
ENCAMINHOU = ("vou transferir", "transferindo", "vou te transferir", "nossa equipe",
              "telefone", "email", "e mail", "deixei seu contato", "registrei o pedido de contato",
              "vou te passar", "vou passar voce", "um atendente vai", "ligar para voce",
              "vai te ligar", "vai entrar em contato", "vai te chamar", "ja chamei", "ja avisei")
RECUSOU = ("nao e possivel transferir", "nao posso transferir", "sou um assistente virtual",
           "nao consigo transferir", "sou a assistente virtual", "sou uma assistente virtual")

# --- short messages that need no answer --------------------------------------------------

FECHAMENTO = (
    "ok", "okay", "obrigado", "obrigada", "brigado", "brigada", "valeu", "beleza", "certo",
    "entendi", "tchau", "show", "top", "perfeito", "otimo", "blz", "ah", "hmm", "sim", "nao",
    "de nada", "combinado", "legal", "joia", "muito", "tudo", "bem", "boa", "bom", "dia", "tarde",
    "noite", "ate", "mais", "esta", "ajuda", "pela", "oi", "ola", "opa", "eae", "ata", "tmj",
    "fechou", "fechado", "massa", "ufa", "oba", "amei", "otima", "deixa", "esquece", "la", "para",
    "ok", "hm", "humm", "aham", "uhum", "kk", "k", "rs", "tranquilo", "suave", "isso", "obg",
    "entao", "mano", "ne", "bacana", "demais", "maravilha", "que",
)
# A statement of what the customer will do next ("passo aí amanhã"): nothing to answer.
PLANO = ("vou", "passo", "indo", "chego", "volto", "levo", "busco", "ligo", "pago", "passar")
ACK = ("ok", "obrigado", "obrigada", "brigado", "brigada", "valeu", "beleza", "certo", "show",
       "top", "perfeito", "otimo", "otima", "combinado", "fechou", "fechado", "tmj", "massa",
       "amei", "ufa", "entendi", "tranquilo", "maravilha", "obg", "legal", "joia")
SAUDACAO = ("oi", "ola", "opa", "eae", "oii", "oie", "bom", "boa", "dia", "tarde", "noite", "tudo",
            "bem", "td", "como", "vai", "e", "ai", "salve", "hello", "hi", "ok", "certo")
AGRADECIMENTO = ("obrigado", "obrigada", "brigado", "brigada", "valeu", "agradeco", "perfeito",
                 "otimo", "show", "top", "resolvido", "ajudou")
# Words a question starts with when the customer leaves out the "?".
PERGUNTA_INICIO = ("qual", "quais", "quanto", "quantos", "quantas", "quando", "onde", "como",
                   "porque", "cade", "tem", "voces", "faz", "fazem", "aceita", "aceitam", "pode",
                   "posso", "vende", "vendem", "entrega", "entregam", "existe", "sera", "da",
                   "que horas", "que dia", "que dias", "o que", "quem")
