"""The words of the demo: four businesses, their facts, and how their customers write.

Pure data, used by core.demo.generate. Customer lines carry WhatsApp habits on purpose (vc, q,
blz, pq, tbm, typos, no accents, emoji) so that search, analysis and redaction meet
real-looking text.
"""
from __future__ import annotations

# Readable labels of the generator's topics (ground truth for the topic analysis).
TOPICOS = {
    "horario": "Horário de funcionamento",
    "pagamento": "Formas de pagamento",
    "entrega": "Entrega e frete",
    "localizacao": "Localização",
    "precos": "Preços",
    "produtos": "Produtos disponíveis",
    "rastreio": "Rastreamento de pedido",
    "trocas": "Trocas e devoluções",
    "atendente": "Falar com atendente",
}

CLIENTES = [
    {
        "slug": "padaria-pao-dourado",
        "nome": "Padaria Pão Dourado",
        "whatsapp": "5511930001001",
        # Public details of the business (kept in the training file, never redacted).
        "dados_proprios": {"telefones": ["(11) 3030-1001", "(11) 93000-1001"],
                           "emails": ["contato@paodourado.com.br"], "cnpj": "12.345.678/0001-95",
                           "endereco": "Rua das Flores, 123 - Vila Mariana, São Paulo",
                           "cep": "04101-000", "chave_pix": "12.345.678/0001-95"},
        "modelo_base": "gpt-4o-mini-2024-07-18",
        "modelo_ativo": "ft:gpt-4o-mini-2024-07-18:curadoria:padaria-pao-dourado:B7kQ2xLm",
        "system_prompt": (
            "Você é o atendente virtual da Padaria Pão Dourado, em São Paulo. Responda em "
            "português do Brasil, com simpatia e objetividade, apenas com informações da padaria."
        ),
        "fatos": {
            "horario": "de segunda a sábado, das 6h às 20h, e aos domingos e feriados das 7h às 13h",
            "horario_extra": "Aos domingos fechamos às 13h em ponto.",
            "endereco": "Rua das Flores, 123 - Vila Mariana, São Paulo (perto do metrô Ana Rosa)",
            "referencia": "Temos estacionamento conveniado na Rua Domingos de Morais, 40.",
            "pagamento": "Pix, cartões de crédito e débito (Visa, Master, Elo), dinheiro e vale-refeição",
            "pagamento_extra": "A chave Pix é o nosso CNPJ, que aparece na maquininha.",
            "entrega": "entregamos num raio de 3 km pelo nosso WhatsApp, com taxa de R$ 5,00; pedidos acima de R$ 60,00 têm entrega grátis",
            "prazo": "A entrega leva de 30 a 50 minutos.",
            "produtos": "pão francês, pão de queijo, sonhos, bolos caseiros, tortas salgadas e doces sob encomenda",
            "produto_destaque": "O bolo de cenoura com cobertura de chocolate sai todo dia às 15h.",
            "precos": [("pão francês", "R$ 16,90 o quilo"), ("sonho", "R$ 6,50 cada"),
                        ("bolo de cenoura", "R$ 35,00 inteiro"), ("pão de queijo", "R$ 4,50 a unidade"),
                        ("torta de frango", "R$ 48,00 (serve 8 pessoas)")],
            "rastreio": "encomendas de bolo ficam prontas no dia e horário combinados; posso confirmar pelo número do pedido",
            "trocas": "se algum produto vier com problema, trocamos no mesmo dia mediante o cupom fiscal",
            "atendente": "o atendimento humano funciona das 8h às 18h pelo telefone (11) 3030-1001",
        },
    },
    {
        "slug": "moda-bella",
        "nome": "Moda Bella",
        "whatsapp": "5521930002002",
        "dados_proprios": {"telefones": ["(21) 93000-2002"], "emails": ["sac@modabella.com.br"],
                           "cnpj": "23.456.789/0001-95", "endereco": "",
                           "cep": "22290-070", "chave_pix": "sac@modabella.com.br"},
        "modelo_base": "gpt-4.1-mini-2025-04-14",
        "modelo_ativo": None,
        "system_prompt": (
            "Você é a assistente virtual da Moda Bella, loja de roupas femininas online e no "
            "Rio de Janeiro. Fale em português do Brasil, de forma acolhedora e clara."
        ),
        "fatos": {
            "horario": "a loja física abre de segunda a sábado, das 10h às 22h; o site funciona 24 horas",
            "horario_extra": "Aos domingos a loja do shopping abre das 14h às 20h.",
            "endereco": "Shopping Rio Sul, loja 215, 2º piso - Botafogo, Rio de Janeiro",
            "referencia": "Ficamos ao lado da praça de alimentação.",
            "pagamento": "Pix com 5% de desconto, cartão de crédito em até 6x sem juros e boleto",
            "pagamento_extra": "O boleto vence em 3 dias úteis e o pedido é liberado após a compensação.",
            "entrega": "enviamos para todo o Brasil pelos Correios e por transportadora; o frete é grátis acima de R$ 199,00",
            "prazo": "O prazo é de 3 a 8 dias úteis, conforme o CEP.",
            "produtos": "vestidos, blusas, calças, saias, moda praia e acessórios, do P ao GG",
            "produto_destaque": "A coleção de verão acabou de chegar, com vestidos de linho a partir de R$ 189,90.",
            "precos": [("vestido midi", "R$ 219,90"), ("calça pantalona", "R$ 159,90"),
                        ("blusa de linho", "R$ 129,90"), ("biquíni", "R$ 99,90"),
                        ("saia plissada", "R$ 139,90")],
            "rastreio": "o código de rastreio é enviado por e-mail assim que o pedido é postado; com o número do pedido eu consulto o status",
            "trocas": "a primeira troca é grátis em até 30 dias, e a devolução por arrependimento vale por 7 dias após o recebimento",
            "atendente": "nossa equipe atende de segunda a sexta, das 9h às 18h, pelo e-mail sac@modabella.com.br",
        },
    },
    {
        "slug": "farmacia-vida-mais",
        "nome": "Farmácia Vida Mais",
        "whatsapp": "5531930003003",
        "dados_proprios": {"telefones": ["(31) 3300-3003", "(31) 93000-3003"], "emails": [],
                           "cnpj": "", "endereco": "Avenida Afonso Pena, 1500 - Centro, Belo Horizonte",
                           "cep": "30130-005", "chave_pix": ""},
        "modelo_base": "gpt-4.1-mini-2025-04-14",
        "modelo_ativo": None,
        "system_prompt": (
            "Você é o atendente virtual da Farmácia Vida Mais, em Belo Horizonte. Responda em "
            "português do Brasil. Nunca indique medicamentos: oriente a procurar o farmacêutico."
        ),
        "fatos": {
            "horario": "funcionamos 24 horas, todos os dias, inclusive feriados",
            "horario_extra": "O farmacêutico fica de plantão das 7h às 23h.",
            "endereco": "Avenida Afonso Pena, 1500 - Centro, Belo Horizonte",
            "referencia": "Em frente ao Parque Municipal.",
            "pagamento": "Pix, cartões de crédito e débito, dinheiro e convênios de empresas parceiras",
            "pagamento_extra": "Parcelamos compras acima de R$ 150,00 em até 3x.",
            "entrega": "entregamos em toda BH por R$ 7,90, e grátis para compras acima de R$ 80,00",
            "prazo": "Entregas em até 1 hora na região central.",
            "produtos": "medicamentos, dermocosméticos, higiene, perfumaria, fraldas e suplementos",
            "produto_destaque": "Medicamentos controlados exigem a receita original na entrega.",
            "precos": [("dipirona 500 mg com 10 comprimidos", "R$ 6,90"),
                        ("protetor solar FPS 50", "R$ 59,90"), ("fralda tamanho G com 30 unidades", "R$ 54,90"),
                        ("vitamina C 1 g", "R$ 24,90"), ("teste de gravidez", "R$ 12,90")],
            "rastreio": "com o número do pedido eu consulto onde está o entregador",
            "trocas": "produtos lacrados podem ser trocados em até 7 dias; medicamentos não têm troca, por segurança",
            "atendente": "você pode falar com o farmacêutico pelo telefone (31) 3300-3003",
        },
    },
    {
        "slug": "petshop-amigo-fiel",
        "nome": "Pet Shop Amigo Fiel",
        "whatsapp": "5541930004004",
        "dados_proprios": {"telefones": ["(41) 3040-4004", "(41) 93000-4004"], "emails": [],
                           "cnpj": "", "endereco": "Rua XV de Novembro, 880 - Centro, Curitiba",
                           "cep": "80020-310", "chave_pix": ""},
        "modelo_base": "gpt-4o-2024-08-06",
        "modelo_ativo": None,
        "system_prompt": (
            "Você é o assistente virtual do Pet Shop Amigo Fiel, em Curitiba. Responda em "
            "português do Brasil, com carinho pelos pets, e só com informações da loja."
        ),
        "fatos": {
            "horario": "de segunda a sexta das 8h às 19h e aos sábados das 8h às 17h",
            "horario_extra": "O banho e tosa recebe o último pet às 16h.",
            "endereco": "Rua XV de Novembro, 880 - Centro, Curitiba",
            "referencia": "Temos estacionamento próprio para clientes.",
            "pagamento": "Pix, cartão de crédito em até 4x, débito e dinheiro",
            "pagamento_extra": "Pacotes mensais de banho podem ser pagos no Pix com desconto.",
            "entrega": "entregamos ração e acessórios em Curitiba no mesmo dia para pedidos até as 15h, frete de R$ 9,90",
            "prazo": "Acima de R$ 150,00 o frete é grátis.",
            "produtos": "rações, petiscos, brinquedos, camas, coleiras, medicamentos veterinários e banho e tosa",
            "produto_destaque": "O banho com hidratação para cães de porte pequeno sai por R$ 55,00.",
            "precos": [("ração premium 15 kg", "R$ 189,90"), ("banho porte pequeno", "R$ 45,00"),
                        ("tosa higiênica", "R$ 35,00"), ("areia para gatos 4 kg", "R$ 22,90"),
                        ("coleira antipulgas", "R$ 89,90")],
            "rastreio": "o pedido sai com o entregador e eu consigo ver o status pelo número do pedido",
            "trocas": "ração fechada e acessórios podem ser trocados em até 7 dias com a nota fiscal",
            "atendente": "nossa equipe atende pelo telefone (41) 3040-4004 no horário comercial",
        },
    },
]

# --- customer lines -----------------------------------------------------------------

SAUDACOES = ["Oi", "Olá", "Boa tarde", "bom dia!", "oi, tudo bem?", "Oii", "Boa noite 😊", "opa",
             "Olá, boa tarde", "oi td bem?", "Bom dia", "eae"]

PERGUNTAS = {
    "horario": [
        "Qual o horário de funcionamento?", "vcs abrem que horas?", "Que horas vocês fecham hoje?",
        "vocês abrem domingo?", "qual horario de atendimento", "tá aberto agora?",
        "Vocês funcionam no feriado?", "até que horas fica aberto?", "abre sabado?",
        "Qual o horário de vcs no fim de semana?", "horário de funcionamento pfv",
    ],
    "pagamento": [
        "Quais as formas de pagamento?", "aceita pix?", "Posso pagar no cartão de crédito?",
        "vcs aceitam vale refeição?", "da pra parcelar?", "aceitam cartão de débito?",
        "Qual a chave pix de vcs?", "pode pagar em dinheiro na entrega?", "aceita boleto?",
        "tem desconto no pix?", "como faço o pagamento?",
    ],
    "entrega": [
        "Vocês fazem entrega?", "qual o valor do frete?", "entregam no meu bairro?",
        "Quanto tempo demora a entrega?", "tem entrega hj?", "o frete é gratis?",
        "vcs entregam em casa?", "Qual o prazo de entrega pro meu CEP 01310-100?",
        "faz delivery?", "quanto custa pra entregar?",
    ],
    "localizacao": [
        "Onde fica a loja?", "qual o endereço de vcs?", "Vocês ficam em qual bairro?",
        "Como faço pra chegar ai?", "tem estacionamento?", "qual a localização?",
        "me manda o endereço pfv", "fica perto do metrô?", "onde vcs ficam?",
    ],
    "precos": [
        "Quanto custa o {produto}?", "qual o preço do {produto}?", "qto ta o {produto}?",
        "Quanto tá o {produto} hoje?", "vcs tem {produto}? qual valor?", "preço do {produto} pfv",
        "Quanto sai o {produto}?",
    ],
    "produtos": [
        "Quais produtos vocês têm?", "o que vcs vendem?", "Tem cardápio/catálogo?",
        "vocês têm opção sem lactose?", "tem novidade essa semana?", "quais os produtos disponiveis?",
        "Vocês vendem por encomenda?", "tem tamanho GG?", "tem produto pra pele sensivel?",
    ],
    "rastreio": [
        "Cadê meu pedido?", "quero rastrear meu pedido {pedido}", "Meu pedido {pedido} ainda não chegou",
        "qual o status do pedido {pedido}?", "meu pedido nao chegou ainda 😕",
        "Podem ver onde está minha encomenda? pedido nº {pedido}", "já saiu pra entrega o pedido {pedido}?",
    ],
    "trocas": [
        "Como faço para trocar um produto?", "quero devolver uma compra", "Posso trocar o tamanho?",
        "vcs trocam se vier com defeito?", "Qual o prazo pra troca?", "quero meu dinheiro de volta",
        "comprei errado, da pra trocar?", "como funciona a devolução?",
    ],
    "atendente": [
        "Quero falar com um atendente", "tem alguém de verdade aí?", "me passa pra um humano por favor",
        "quero falar c/ uma pessoa", "Como falo com um atendente humano?", "preciso falar com o gerente",
        "atendente pfv", "dá pra falar com alguém da loja?",
    ],
}

SEGUIMENTOS = {
    "horario": ["E aos domingos?", "e no feriado abre?", "blz, e sábado?", "Até que horas no sábado?"],
    "pagamento": ["E parcelado?", "aceita elo?", "e pix tem desconto?", "posso pagar na retirada?"],
    "entrega": ["e quanto tempo leva?", "Entrega no mesmo dia?", "e o frete pra {cep}?", "entregam sábado tbm?"],
    "localizacao": ["Tem estacionamento?", "fica perto de onde?", "é fácil de achar?"],
    "precos": ["E o {produto}?", "quanto fica o {produto} tbm?", "tem desconto pra quantidade?"],
    "produtos": ["Tem pronta entrega?", "e vcs tem {produto}?", "chega mais novidade quando?"],
    "rastreio": ["meu cpf é {cpf}", "O CPF do pedido é {cpf}", "pode me avisar no email {email}?",
                 "meu telefone pra contato é {telefone}", "cpf {cpf_digitos}"],
    "trocas": ["Preciso da nota fiscal?", "meu cpf é {cpf}, comprei dia {data}", "e o reembolso é pelo pix?",
               "pode mandar o passo a passo no meu email {email}?"],
    "atendente": ["qual o telefone?", "e no sábado tem alguém?", "pode pedir pra me ligarem no {telefone}?"],
}

AGRADECIMENTOS = ["Obrigado!", "obg", "vlw", "blz, obrigada", "Perfeito, muito obrigada 🙏", "show, valeu!",
                  "ok, brigado", "Ótimo, obrigado pela ajuda!", "Valeu 👍", "certo, obrigada!", "top, vlw"]

IRRITADOS = ["Que chatbot ruim!", "isso não responde minha pergunta", "vc não entende nada 😡",
             "Já perguntei isso 3 vezes!!", "péssimo atendimento", "affs, que robô inútil",
             "não é possível, ninguém resolve nada aqui", "q atendimento horrível", "Vou reclamar no Reclame Aqui",
             "nossa, que demora e não resolve nada 😤", "absurdo isso"]

PEDE_HUMANO = ["quero falar com um atendente", "tem alguém de verdade aí?", "me passa pra um humano por favor",
               "quero falar c/ uma pessoa", "ATENDENTE!!", "como falo com um humano?", "chama alguem pfv"]

NEUTROS = ["Ok", "ok", "hmm", "entendi...", "certo", "ah tá"]

REPETE_PREFIXO = ["", "", "Repetindo: ", "de novo: ", "mas ", "Não foi isso que perguntei. "]

# --- bot lines ------------------------------------------------------------------------

BOAS_VINDAS = ["Olá! 😊 Bem-vindo(a) à {nome}. Como posso ajudar?", "Oi! Aqui é o atendimento da {nome}. Em que posso ajudar?",
               "Olá, tudo bem? Sou o assistente virtual da {nome}. Como posso te ajudar hoje?"]

RESPOSTAS = {
    "horario": ["Nosso horário é {horario}. {horario_extra}", "Funcionamos {horario}.",
                "Estamos abertos {horario}. {horario_extra}"],
    "pagamento": ["Aceitamos {pagamento}. {pagamento_extra}", "As formas de pagamento são: {pagamento}.",
                  "Você pode pagar com {pagamento}. {pagamento_extra}"],
    "entrega": ["Sim! {entrega_cap}. {prazo}", "Fazemos entrega, sim: {entrega}. {prazo}",
                "{entrega_cap}. {prazo}"],
    "localizacao": ["Estamos na {endereco}. {referencia}", "Nosso endereço é {endereco}. {referencia}",
                    "Fica na {endereco}. {referencia}"],
    "precos": ["O {produto} custa {preco}.", "O valor do {produto} é {preco}. Quer que eu separe para você?",
               "Hoje o {produto} está {preco}."],
    "produtos": ["Trabalhamos com {produtos}. {produto_destaque}", "Temos {produtos}. {produto_destaque}",
                 "Nosso catálogo tem {produtos}. {produto_destaque}"],
    "rastreio": ["Claro! {rastreio_cap}. Seu pedido {pedido} já saiu para entrega e deve chegar hoje.",
                 "Consultei aqui: o pedido {pedido} está em separação e sai ainda hoje. {rastreio_cap}.",
                 "O pedido {pedido} foi entregue à transportadora ontem; {rastreio}."],
    "trocas": ["Sobre trocas: {trocas}. Posso abrir a solicitação para você?",
               "Funciona assim: {trocas}.", "Pode ficar tranquilo(a): {trocas}."],
    "atendente": ["Claro! Vou transferir você para nossa equipe: {atendente}.",
                  "Entendo! {atendente_cap}. Já deixei seu contato registrado.",
                  "Sem problemas, {atendente}."],
}

RESPOSTAS_SEGUIMENTO = {
    "rastreio": ["Obrigado! Localizei o pedido {pedido}: a previsão de entrega é amanhã até as 18h.",
                 "Perfeito, encontrei o pedido {pedido}. Ele está a caminho e chega hoje."],
    "trocas": ["Certo! Já registrei a solicitação de troca e você vai receber as instruções em seguida.",
               "Anotado. A troca foi aberta com o protocolo {protocolo}."],
    "atendente": ["Pode deixar, {atendente}.", "Registrei o pedido de contato; {atendente}."],
}

FALLBACKS = ["Desculpe, não encontrei essa informação.", "Desculpe, não encontrei informações sobre isso.",
             "Não tenho essa informação no momento.", "Infelizmente não sei responder isso.",
             "Hmm, não consegui encontrar essa informação. Pode reformular a pergunta?",
             "Desculpe, não entendi. Pode repetir?"]

VAGAS = ["Entendi! Posso ajudar com várias coisas. O que você gostaria de saber?",
         "Temos várias opções disponíveis, fique à vontade para perguntar!",
         "Depende, cada caso é um caso.", "Obrigado pela mensagem! Estamos à disposição.",
         "Para mais informações, consulte nossos canais oficiais.",
         "Ótima pergunta! Estamos sempre trabalhando para atender você da melhor forma."]

DESCULPAS = ["Desculpe pelo transtorno. Estamos à disposição.", "Lamento a experiência. Posso ajudar em algo mais?",
             "Sinto muito! Vou registrar sua reclamação."]

RECUSA_HUMANO = ["Sou um assistente virtual e posso ajudar com suas dúvidas!",
                 "No momento não é possível transferir. Posso ajudar com outra coisa?"]

DESPEDIDAS = ["Por nada! Qualquer dúvida é só chamar. 😊", "Imagina! A {nome} agradece o contato.",
              "Disponha! Tenha um ótimo dia.", "De nada! Estamos por aqui."]

NOMES = ["João", "Maria", "Ana", "Pedro", "Lucas", "Juliana", "Fernanda", "Carlos", "Mariana", "Rafael",
         "Beatriz", "Gabriel", "Camila", "Bruno", "Larissa", "Felipe", "Patrícia", "Rodrigo", "Aline", "Thiago",
         "Letícia", "Gustavo", "Vanessa", "Marcelo", "Renata", "Diego", "Tatiane", "André", "Priscila", "Eduardo"]
SOBRENOMES = ["Silva", "Santos", "Oliveira", "Souza", "Costa", "Pereira", "Lima", "Ferreira", "Almeida",
              "Ribeiro", "Carvalho", "Gomes", "Martins", "Araújo", "Rocha", "Barbosa", "Dias", "Moreira"]
DOMINIOS = ["gmail.com", "hotmail.com", "outlook.com", "yahoo.com.br", "uol.com.br", "bol.com.br"]
DDDS = ["11", "11", "11", "21", "21", "31", "41", "51", "61", "71", "81", "85", "19", "27", "48"]
AVALIADORES = ["admin", "ana.souza", "carlos.lima"]
