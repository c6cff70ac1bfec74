"""Passwords (and password stems) too common to accept: the usual international top lists
plus the ones Brazilians pick (clubs, "senha", "mudar", "brasil", faith, family).

A password is refused when, in lower case and without spaces, it is one of these, or is
one of these followed only by digits and symbols ("senha12345", "brasil2026!").
"""
from __future__ import annotations

COMMON_PASSWORDS = frozenset("""
123456 123456789 12345678 1234567890 12345678910 1234567 12345 1234 111111 000000 123123
654321 666666 121212 112233 0123456789 9876543210 0987654321 987654321 1111111111
0000000000 1234512345 1122334455 1029384756 1qaz2wsx 1qaz2wsx3edc 1q2w3e4r 1q2w3e4r5t
1q2w3e4r5t6y 1q2w3e 1234qwer qwer1234 qwerty qwerty123 qwerty1234 qwertyuiop qwertyuiop1
asdfghjkl asdfghjkl1 zxcvbnm zxcvbnm123 qazwsxedc qazwsx 123qwe 123qweasd qweasdzxc qweasd
147258369 159753 159357 741852963 753951 abc123 abcd1234 abc12345 abcdef abcdefgh
abcdefghij a1b2c3d4e5 aaaaaa password password1 password12 password123 password1234
passw0rd p@ssw0rd p4ssw0rd passwort motdepasse contrasena contraseña iloveyou iloveyou1
iloveyou12 princess sunshine football baseball basketball superman batman spiderman
starwars pokemon minecraft dragon monkey shadow master mustang letmein welcome welcome1
welcome123 trustno1 whatever freedom computer internet liverpool chelsea arsenal charlie
michael jennifer jordan23 hunter2 killer secret secret123 changeme changeme123 default
administrator admin admin123 admin1234 admin12345 root toor guest user user123 test test123
test1234 teste teste123 teste1234 testando senha senha123 senha1234 senha12345 senha123456
senhasenha senhaforte senhasegura minhasenha minhasenha123 novasenha novasenha123 suasenha
mudar123 mudar1234 mudar12345 mudarsenha trocar123 trocarsenha trocar1234 acesso acesso123
entrar entrar123 bemvindo bemvindo123 brasil brasil123 brasil1234 brasil2022
brasil2024 brasil2025 brasil2026 brazil saopaulo saopaulo123 riodejaneiro flamengo
flamengo123 corinthians corinthians123 palmeiras palmeiras123 santos gremio internacional
cruzeiro atletico vasco vascodagama botafogo fluminense bahia sport chapecoense timao
mengao verdao jesus jesuscristo jesus123 deusefiel deus123 deusmeama deuseamor amor amor123
meuamor teamo teamo123 familia familia123 felicidade saudade beleza gatinha gatinho
princesa anjinho mamae papai mamae123 papai123 minhavida estrela vitoria gabriel gabriela
lucas matheus mariana juliana fernanda amanda rafael pedro joao maria123 mariaeduarda
curadoria curadoria123 whatsapp whatsapp123 dashboard streamlit empresa empresa123 loja
loja123 bot chatbot
mudar trocar alterar alterar123 mudesenha administrador administracao suporte suporte123
""".split())
