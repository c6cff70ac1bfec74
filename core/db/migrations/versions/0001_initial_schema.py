"""Initial schema: clientes, conversas, mensagens, fine-tuning jobs, notifications, audit.

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 06:40:29.531085
"""
from alembic import op
import sqlalchemy as sa

from core.db.tables import utc_now


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('administradores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('usuario', sa.String(length=50), nullable=False),
    sa.Column('nome', sa.String(length=120), server_default='', nullable=False),
    sa.Column('senha_hash', sa.String(length=255), nullable=True),
    sa.Column('ativo', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('trocar_senha', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('falhas_login', sa.Integer(), server_default='0', nullable=False),
    sa.Column('bloqueado_ate', sa.DateTime(), nullable=True),
    sa.Column('ultimo_login_em', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=utc_now(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_administradores')),
    sa.UniqueConstraint('usuario', name=op.f('uq_administradores_usuario'))
    )
    op.create_table('clientes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nome', sa.String(length=120), nullable=False),
    sa.Column('slug', sa.String(length=60), nullable=False),
    sa.Column('whatsapp', sa.String(length=32), nullable=True),
    sa.Column('system_prompt', sa.Text(), server_default='', nullable=False),
    sa.Column('modelo_base', sa.String(length=100), server_default='gpt-4.1-mini-2025-04-14', nullable=False),
    sa.Column('modelo_ativo', sa.String(length=200), nullable=True),
    sa.Column('redis_url', sa.String(length=500), nullable=True),
    sa.Column('redis_db', sa.Integer(), server_default='0', nullable=False),
    sa.Column('redis_prefix', sa.String(length=100), server_default='', nullable=False),
    sa.Column('created_at', sa.DateTime(), server_default=utc_now(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_clientes')),
    sa.UniqueConstraint('slug', name=op.f('uq_clientes_slug'))
    )
    op.create_table('conversas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cliente_id', sa.Integer(), nullable=False),
    sa.Column('whatsapp', sa.String(length=32), nullable=False),
    sa.Column('contato_nome', sa.String(length=120), nullable=True),
    sa.Column('iniciada_em', sa.DateTime(), nullable=False),
    sa.Column('ultima_mensagem_em', sa.DateTime(), nullable=False),
    sa.Column('dia', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), server_default='ativa', nullable=False),
    sa.Column('modelo_usado', sa.String(length=200), nullable=True),
    sa.Column('total_mensagens', sa.Integer(), server_default='0', nullable=False),
    sa.Column('avaliacao', sa.String(length=10), nullable=True),
    sa.Column('avaliado_em', sa.DateTime(), nullable=True),
    sa.Column('avaliado_por', sa.String(length=50), server_default='admin', nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=utc_now(), nullable=False),
    sa.CheckConstraint("avaliacao IN ('boa', 'ruim')", name=op.f('ck_conversas_avaliacao')),
    sa.CheckConstraint("status IN ('ativa', 'finalizada', 'aguardando')", name=op.f('ck_conversas_status')),
    sa.ForeignKeyConstraint(['cliente_id'], ['clientes.id'], name=op.f('fk_conversas_cliente_id_clientes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversas')),
    sa.UniqueConstraint('cliente_id', 'whatsapp', 'iniciada_em', name='uq_conversas_cliente_whatsapp_inicio')
    )
    with op.batch_alter_table('conversas', schema=None) as batch_op:
        batch_op.create_index('ix_conversas_cliente_ultima', ['cliente_id', 'ultima_mensagem_em'], unique=False)
        batch_op.create_index('ix_conversas_ultima', ['ultima_mensagem_em', 'id'], unique=False)

    op.create_table('conversas_resumo',
    sa.Column('cliente_id', sa.Integer(), nullable=False),
    sa.Column('dia', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('avaliacao', sa.String(length=10), nullable=False),
    sa.Column('total', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint("avaliacao IN ('boa', 'ruim', 'sem')", name=op.f('ck_conversas_resumo_avaliacao')),
    sa.ForeignKeyConstraint(['cliente_id'], ['clientes.id'], name=op.f('fk_conversas_resumo_cliente_id_clientes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('cliente_id', 'dia', 'status', 'avaliacao', name=op.f('pk_conversas_resumo'))
    )
    op.create_table('fine_tuning_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cliente_id', sa.Integer(), nullable=False),
    sa.Column('openai_job_id', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=20), server_default='pending', nullable=False),
    sa.Column('conversas_usadas', sa.Integer(), nullable=True),
    sa.Column('modelo_base', sa.String(length=50), nullable=True),
    sa.Column('modelo_fine_tuned', sa.String(length=100), nullable=True),
    sa.Column('custo_estimado', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('erro', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=utc_now(), nullable=False),
    sa.Column('completed_at', sa.DateTime(), nullable=True),
    sa.Column('provedor', sa.String(length=30), server_default='openai', nullable=False),
    sa.Column('arquivo_treino_id', sa.String(length=255), nullable=True),
    sa.Column('arquivo_validacao_id', sa.String(length=255), nullable=True),
    sa.Column('status_provedor', sa.String(length=40), nullable=True),
    sa.Column('progresso', sa.Integer(), nullable=True),
    sa.Column('previsao_conclusao', sa.DateTime(), nullable=True),
    sa.Column('tokens_estimados', sa.Integer(), nullable=True),
    sa.Column('epocas', sa.Integer(), nullable=True),
    sa.Column('custo_estimado_usd', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('trained_tokens', sa.BigInteger(), nullable=True),
    sa.Column('custo_real', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('custo_real_usd', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('iniciado_por', sa.String(length=50), nullable=True),
    sa.Column('atualizado_em', sa.DateTime(), nullable=True),
    sa.Column('aplicado_em', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'running', 'succeeded', 'failed', 'cancelled')", name=op.f('ck_fine_tuning_jobs_status')),
    sa.ForeignKeyConstraint(['cliente_id'], ['clientes.id'], name=op.f('fk_fine_tuning_jobs_cliente_id_clientes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fine_tuning_jobs'))
    )
    with op.batch_alter_table('fine_tuning_jobs', schema=None) as batch_op:
        batch_op.create_index('idx_fine_tuning_cliente', ['cliente_id'], unique=False)
        batch_op.create_index('idx_fine_tuning_status', ['status'], unique=False)
        batch_op.create_index('uq_fine_tuning_jobs_cliente_aberto', ['cliente_id'], unique=True, postgresql_where=sa.text("status IN ('pending', 'running')"), sqlite_where=sa.text("status IN ('pending', 'running')"))

    op.create_table('avaliacoes_historico',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('conversa_id', sa.Integer(), nullable=False),
    sa.Column('avaliacao_anterior', sa.String(length=10), nullable=True),
    sa.Column('avaliacao_nova', sa.String(length=10), nullable=True),
    sa.Column('avaliado_por', sa.String(length=50), nullable=True),
    sa.Column('avaliado_em', sa.DateTime(), nullable=True),
    sa.Column('registrado_em', sa.DateTime(), server_default=utc_now(), nullable=False),
    sa.ForeignKeyConstraint(['conversa_id'], ['conversas.id'], name=op.f('fk_avaliacoes_historico_conversa_id_conversas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_avaliacoes_historico'))
    )
    with op.batch_alter_table('avaliacoes_historico', schema=None) as batch_op:
        batch_op.create_index('ix_avaliacoes_historico_conversa', ['conversa_id', 'id'], unique=False)

    op.create_table('mensagens',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('conversa_id', sa.Integer(), nullable=False),
    sa.Column('cliente_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('conteudo', sa.Text(), nullable=False),
    sa.Column('enviada_em', sa.DateTime(), nullable=False),
    sa.Column('redis_key', sa.String(length=255), nullable=False),
    sa.Column('modelo', sa.String(length=200), nullable=True),
    sa.CheckConstraint("role IN ('user', 'assistant')", name=op.f('ck_mensagens_role')),
    sa.ForeignKeyConstraint(['cliente_id'], ['clientes.id'], name=op.f('fk_mensagens_cliente_id_clientes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversa_id'], ['conversas.id'], name=op.f('fk_mensagens_conversa_id_conversas'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mensagens')),
    sa.UniqueConstraint('cliente_id', 'redis_key', name='uq_mensagens_cliente_redis_key')
    )
    with op.batch_alter_table('mensagens', schema=None) as batch_op:
        batch_op.create_index('ix_mensagens_conversa_enviada', ['conversa_id', 'enviada_em'], unique=False)

    op.create_table('modelos_historico',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cliente_id', sa.Integer(), nullable=False),
    sa.Column('modelo_anterior', sa.String(length=200), nullable=True),
    sa.Column('modelo_novo', sa.String(length=200), nullable=True),
    sa.Column('motivo', sa.String(length=40), nullable=False),
    sa.Column('fine_tuning_job_id', sa.Integer(), nullable=True),
    sa.Column('alterado_por', sa.String(length=50), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=utc_now(), nullable=False),
    sa.ForeignKeyConstraint(['cliente_id'], ['clientes.id'], name=op.f('fk_modelos_historico_cliente_id_clientes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['fine_tuning_job_id'], ['fine_tuning_jobs.id'], name=op.f('fk_modelos_historico_fine_tuning_job_id_fine_tuning_jobs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_modelos_historico'))
    )
    with op.batch_alter_table('modelos_historico', schema=None) as batch_op:
        batch_op.create_index('ix_modelos_historico_cliente', ['cliente_id', 'id'], unique=False)

    op.create_table('notificacoes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chave', sa.String(length=120), nullable=False),
    sa.Column('tipo', sa.String(length=40), nullable=False),
    sa.Column('titulo', sa.String(length=200), nullable=False),
    sa.Column('mensagem', sa.Text(), server_default='', nullable=False),
    sa.Column('cliente_id', sa.Integer(), nullable=True),
    sa.Column('fine_tuning_job_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), server_default=utc_now(), nullable=False),
    sa.Column('lida_em', sa.DateTime(), nullable=True),
    sa.Column('webhook_enviado_em', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['cliente_id'], ['clientes.id'], name=op.f('fk_notificacoes_cliente_id_clientes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['fine_tuning_job_id'], ['fine_tuning_jobs.id'], name=op.f('fk_notificacoes_fine_tuning_job_id_fine_tuning_jobs'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notificacoes')),
    sa.UniqueConstraint('chave', name=op.f('uq_notificacoes_chave'))
    )
    with op.batch_alter_table('notificacoes', schema=None) as batch_op:
        batch_op.create_index('ix_notificacoes_lida_criada', ['lida_em', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('notificacoes', schema=None) as batch_op:
        batch_op.drop_index('ix_notificacoes_lida_criada')

    op.drop_table('notificacoes')
    with op.batch_alter_table('modelos_historico', schema=None) as batch_op:
        batch_op.drop_index('ix_modelos_historico_cliente')

    op.drop_table('modelos_historico')
    with op.batch_alter_table('mensagens', schema=None) as batch_op:
        batch_op.drop_index('ix_mensagens_conversa_enviada')

    op.drop_table('mensagens')
    with op.batch_alter_table('avaliacoes_historico', schema=None) as batch_op:
        batch_op.drop_index('ix_avaliacoes_historico_conversa')

    op.drop_table('avaliacoes_historico')
    with op.batch_alter_table('fine_tuning_jobs', schema=None) as batch_op:
        batch_op.drop_index('uq_fine_tuning_jobs_cliente_aberto', postgresql_where=sa.text("status IN ('pending', 'running')"), sqlite_where=sa.text("status IN ('pending', 'running')"))
        batch_op.drop_index('idx_fine_tuning_status')
        batch_op.drop_index('idx_fine_tuning_cliente')

    op.drop_table('fine_tuning_jobs')
    op.drop_table('conversas_resumo')
    with op.batch_alter_table('conversas', schema=None) as batch_op:
        batch_op.drop_index('ix_conversas_ultima')
        batch_op.drop_index('ix_conversas_cliente_ultima')

    op.drop_table('conversas')
    op.drop_table('clientes')
    op.drop_table('administradores')
