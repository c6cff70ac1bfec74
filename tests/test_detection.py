"""Problem detection on conversations written by hand for this test (not the demo generator)."""
from __future__ import annotations

import pytest

from core.review.detection import PROBLEMAS, detect_problems, first_question, normalize

U, A = "user", "assistant"

BOAS = {
    "horário respondido e agradecido": [
        (U, "Oi, boa tarde"), (A, "Olá! Como posso ajudar?"),
        (U, "vcs abrem no domingo?"), (A, "Abrimos aos domingos das 8h às 12h."),
        (U, "blz, obg!"), (A, "Por nada, até mais!")],
    "pagamento com seguimento": [
        (U, "Aceitam cartão de crédito?"), (A, "Sim, Visa e Master em até 3x sem juros."),
        (U, "e pix?"), (A, "Também! A chave é o nosso CNPJ."), (U, "Perfeito, valeu")],
    "pedido de telefone atendido": [
        (U, "Como falo com um atendente humano?"),
        (A, "Nossa equipe atende pelo telefone (11) 4000-1234, das 9h às 18h."),
        (U, "ok, obrigada")],
    "entrega sem despedida do bot": [
        (U, "faz entrega no centro?"), (A, "Entregamos no centro por R$ 5,00, em até 40 minutos."),
        (U, "ótimo, obrigado")],
    "termina com um simples ok": [
        (U, "onde fica a loja?"), (A, "Rua Augusta, 500, ao lado do banco."), (U, "ok")],
}

RUINS = {
    "fallback": [
        (U, "Vocês vendem bolo sem glúten?"), (A, "Desculpe, não encontrei essa informação."),
        (U, "ok")],
    "fallback sem acentos": [
        (U, "tem estacionamento?"), (A, "nao tenho essa informacao no momento"), (U, "certo")],
    "vaga": [
        (U, "Qual o prazo de entrega pra Niterói?"),
        (A, "Depende, cada caso é um caso."), (U, "entendi")],
    "vaga 2": [
        (U, "quanto custa a calça jeans?"),
        (A, "Temos várias opções disponíveis, fique à vontade para perguntar!"), (U, "hmm")],
    "irritado": [
        (U, "meu pedido nao chegou"), (A, "Posso verificar, qual o número?"),
        (U, "Ja falei o numero ontem, atendimento PESSIMO"), (A, "Peço desculpas.")],
    "irritado com erro de digitação": [
        (U, "cadê o reembolso?"), (A, "Vou verificar."),
        (U, "q serviço pesimo, vou no procon"), (A, "Lamento.")],
    "irritado com emoji": [
        (U, "ainda nada do meu pedido 😡"), (A, "Vou verificar para você.")],
    "sem_resposta": [
        (U, "Bom dia"), (A, "Bom dia! Como posso ajudar?"),
        (U, "vcs tem pão de queijo congelado?")],
    "humano": [
        (U, "quero falar c/ uma pessoa"),
        (A, "Sou um assistente virtual e posso ajudar com suas dúvidas!"), (U, "ok")],
    "humano abreviado": [
        (U, "me passa pro atd humano pfv"), (A, "Posso ajudar com o que precisar por aqui."),
        (U, "blz")],
    "repetiu": [
        (U, "Qual o valor do frete pra Campinas?"), (A, "Fazemos entregas, sim."),
        (U, "mas qual o valor do frete pra campinas?"), (A, "Entregamos em toda a região."),
        (U, "ok")],
}

ESPERADO = {
    "fallback": "fallback", "fallback sem acentos": "fallback", "vaga": "vaga", "vaga 2": "vaga",
    "irritado": "irritado", "irritado com erro de digitação": "irritado",
    "irritado com emoji": "irritado", "sem_resposta": "sem_resposta", "humano": "humano",
    "humano abreviado": "humano", "repetiu": "repetiu",
}


@pytest.mark.parametrize("nome", list(RUINS))
def test_each_problem_category_is_found_in_a_hand_written_conversation(nome):
    deteccao = detect_problems(RUINS[nome])
    assert ESPERADO[nome] in deteccao.problemas
    assert deteccao.avaliacao_sugerida == "ruim"


def test_every_problem_category_is_covered_by_the_hand_written_cases():
    assert set(ESPERADO.values()) == set(PROBLEMAS)


@pytest.mark.parametrize("nome", list(BOAS))
def test_ordinary_good_conversations_are_not_flagged(nome):
    deteccao = detect_problems(BOAS[nome])
    assert deteccao.problemas == []


def test_answered_and_thanked_conversation_suggests_good():
    assert detect_problems(BOAS["horário respondido e agradecido"]).avaliacao_sugerida == "boa"


def test_no_suggestion_without_a_clear_signal():
    assert detect_problems([(U, "qual o endereço?"), (A, "Rua A, 10.")]).avaliacao_sugerida is None


def test_a_silent_bot_after_thanks_is_not_a_customer_left_without_answer():
    assert "sem_resposta" not in detect_problems(BOAS["entrega sem despedida do bot"]).problemas


def test_normalize_removes_accents_and_expands_abbreviations():
    assert normalize("Vc SABE q horas ABRE hj? Blz") == "voce sabe que horas abre hoje beleza"


def test_first_question_skips_greetings():
    assert first_question(RUINS["sem_resposta"]) == "vcs tem pão de queijo congelado?"


def test_suggested_rating_agrees_with_how_demo_conversations_went():
    """Measured on 5,000 demo conversas: 99.2% agreement (38 good ones flagged, all for
    a follow-up the generator repeated word for word after the bot's same answer)."""
    import datetime as dt

    from core.demo.generate import generate_conversations

    conversas = list(generate_conversations(2000, seed=7, anchor=dt.datetime(2026, 11, 20, 3)))
    certas = sum(
        detect_problems([(r, t) for r, t, _ in c.mensagens]).avaliacao_sugerida
        == ("boa" if c.desfecho == "boa" else "ruim") for c in conversas)
    assert certas / len(conversas) >= 0.97
